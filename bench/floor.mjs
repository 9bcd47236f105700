// The floor of the benchmark: the same candles as k2ops, as raw DuckDB SQL — for every timeframe,
// candleSelectSql over all trades (no range, no chunking, no temp tables), inserted into the
// empty candle table. The caller runs the five statements in one transaction.
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const {candleSelectSql} = await import(join(ROOT, 'dist/pipeline/engine/duckdb/candle-sql.js'))
const {TIMEFRAME_SPECS, TIMEFRAMES} = await import(join(ROOT, 'dist/pipeline/timeframes.js'))

/** [{tf, sql}] for 1m, 5m, 30m, 1h, 1d; created_at = updated_at = nowMicros. */
export function floorStatements(nowMicros) {
  return TIMEFRAMES.map((tf) => ({
    tf,
    table: TIMEFRAME_SPECS[tf].table,
    sql: `INSERT INTO ${TIMEFRAME_SPECS[tf].table} BY NAME
SELECT c.*, make_timestamp(${nowMicros}::BIGINT) AS created_at, make_timestamp(${nowMicros}::BIGINT) AS updated_at
FROM (${candleSelectSql(tf, {where: 'true'})}) c`,
  }))
}
