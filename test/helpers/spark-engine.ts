import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {Engine} from '../../src/pipeline/engine/engine.js'
import type {SparkEngine} from '../../src/pipeline/engine/spark/spark-engine.js'
import type {Timeframe} from '../../src/pipeline/timeframes.js'
import type {StoredCandle, TestTrade} from './warehouse.js'

import {openEngine} from '../../src/pipeline/engine/index.js'
import {sqlBigint, sqlString} from '../../src/pipeline/engine/spark/sql-text.js'
import {stopDriver} from '../../src/pipeline/engine/spark/session.js'
import {resolveHome} from '../../src/pipeline/home.js'
import {micros} from './warehouse.js'

/**
 * A Spark home (local[2], a Hadoop catalog under a temp directory) shared by the tests of a file:
 * one driver, started once (a cold start costs seconds), stopped by `stop()`.
 */
export class SparkTestHome {
  readonly dir = mkdtempSync(join(tmpdir(), 'k2ops-spark-test-'))

  get home() {
    return resolveHome({home: this.dir, defaultDir: this.dir, engine: 'spark'})
  }

  async open(): Promise<SparkEngine> {
    return (await openEngine(this.home, {operation: 'test', lockTimeoutMs: 60_000, create: true})) as SparkEngine
  }

  /** An engine on what the CLI left in the home (read only: no lock, the tables must be there). */
  async openExisting(): Promise<SparkEngine> {
    return (await openEngine(this.home, {operation: 'test read', lockTimeoutMs: 60_000, readOnly: true})) as SparkEngine
  }

  /** An engine on empty tables: the schema ensured, every row of the target deleted. */
  async openEmpty(): Promise<SparkEngine> {
    const engine = await this.open()
    await engine.ensureSchema()
    const {tables} = engine
    await engine.session.sql([tables.trades, ...(['1m', '5m', '30m', '1h', '1d'] as Timeframe[]).map((tf) => tables.candles(tf)), tables.marks, tables.ingestedFiles].map((t) => `DELETE FROM ${t}`))
    return engine
  }

  async deleteTrades(engine: Engine): Promise<void> {
    const spark = engine as SparkEngine
    await spark.session.sql([`DELETE FROM ${spark.tables.trades}`])
  }

  async stop(): Promise<void> {
    await stopDriver(this.home).catch(() => {})
    rmSync(this.dir, {recursive: true, force: true})
  }
}

/** Inserts trades straight into the Iceberg trades table (no ingest), in one statement. */
export async function insertSparkTrades(engine: Engine, trades: TestTrade[], defaultIngestedAt = 1): Promise<void> {
  const spark = engine as SparkEngine
  const rows = trades.map((t) => {
    const ts = typeof t.at === 'number' ? t.at : micros(t.at)
    const seq = t.seq === undefined ? Number.parseInt(t.id.replaceAll(/\D/g, '') || '0', 10) : t.seq
    return `(${sqlString(t.id)}, ${sqlString(t.symbol ?? 'BTCUSDT')}, ${sqlString(t.exchange ?? 'BINANCE')}, ${sqlBigint(ts)}, CAST(${sqlString(t.price)} AS DECIMAL(18,8)),
      CAST(${sqlString(t.qty)} AS DECIMAL(38,8)), ${t.side === null ? 'CAST(NULL AS STRING)' : sqlString(t.side ?? 'BUY')}, ${seq === null ? 'CAST(NULL AS BIGINT)' : sqlBigint(seq)}, ${sqlBigint(t.ingestedAt ?? defaultIngestedAt)})`
  })
  await spark.session.sql([
    `INSERT INTO ${spark.tables.trades}
     SELECT id, symbol, exchange, ts, price, qty, side, seq, ing, CAST(timestamp_micros(ts) AS DATE), hour(timestamp_micros(ts)), CAST(NULL AS BIGINT)
     FROM VALUES ${rows.join(', ')} AS v(id, symbol, exchange, ts, price, qty, side, seq, ing)`,
  ])
}

const instant = (column: string) =>
  `CASE WHEN unix_micros(${column}) % 1000000 = 0 THEN date_format(${column}, 'yyyy-MM-dd HH:mm:ss') ELSE date_format(${column}, 'yyyy-MM-dd HH:mm:ss.SSSSSS') END`

/** Every stored candle of a timeframe in key order, as the DuckDB helper gives them (exact text). */
export async function sparkCandles(engine: Engine, tf: Timeframe): Promise<StoredCandle[]> {
  const spark = engine as SparkEngine
  const columns = ['symbol', 'exchange', 'window_start', 'window_end', 'window_date', 'open_price', 'high_price', 'low_price', 'close_price', 'volume', 'trade_count', 'vwap', 'created_at', 'updated_at', 'quote_volume', 'taker_buy_volume', 'taker_buy_quote_volume']
  const select = columns.map((c) => (/_start|_end|_at$/.test(c) ? `${instant(c)} AS ${c}` : `CAST(${c} AS STRING) AS ${c}`))
  const [result] = await spark.session.sql([`SELECT ${select.join(', ')} FROM ${spark.tables.candles(tf)} ORDER BY symbol, exchange, window_start`])
  return result.rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])) as unknown as StoredCandle)
}
