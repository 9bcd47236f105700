import type {WindowSelection} from '../engine.js'

import {CANDLE_VALUE_COLUMNS} from '../../schema.js'
import {TIMEFRAME_SPECS, Timeframe} from '../../timeframes.js'
import {candleSelectSql} from './candle-sql.js'
import {marketSql, sqlBigint, sqlInstant} from './sql-text.js'
import {SparkTables} from './tables.js'

// Recompute-and-replace on Spark: the selected windows' new candles and, for each stored candle of
// the selection that no trade backs any more, a tombstone, cached as one source; then one MERGE
// keyed on (symbol, exchange, window_start) replaces exactly those windows in one commit. Never an
// overwrite of partitions: the other candles of the day (and month) are not touched.

const VALUE_COLUMNS = CANDLE_VALUE_COLUMNS
const KEY_COLUMNS = ['symbol', 'exchange', 'window_start']

/** Temp views of a replace; dropped at its end, and before it in case a killed client left them. */
export const SOURCE_VIEW = 'k2_replace_source'
const LATE_VIEW = 'k2_late_windows'
const FRESH_VIEW = 'k2_replace_fresh'

export interface ReplaceInput {
  tf: Timeframe
  selection: WindowSelection
  /** The newest ingestion_timestamp of the trades snapshot read. */
  newestIngestion: number
  /** The trades snapshot every read of this replace uses (undefined: the table has none, no trade). */
  snapshotId?: string
}

export function dropViewsSql(): string[] {
  const views = [SOURCE_VIEW, FRESH_VIEW, LATE_VIEW]
  return [...views.map((view) => `UNCACHE TABLE IF EXISTS ${view}`), ...views.map((view) => `DROP VIEW IF EXISTS ${view}`)]
}

/** A read of the trades at the snapshot, as `t`, within [lo, hi) of trade time (pruned by exchange_date). */
function tradesIn(tables: SparkTables, input: ReplaceInput, lo: number, hi: number, scope = ''): string {
  const version = input.snapshotId ? ` VERSION AS OF ${input.snapshotId}` : ''
  return `(SELECT t.* FROM ${tables.trades}${version} t
     WHERE t.\`timestamp\` >= ${sqlBigint(lo)} AND t.\`timestamp\` < ${sqlBigint(hi)}${scope}
       AND t.exchange_date >= CAST(${sqlInstant(lo)} AS DATE) AND t.exchange_date <= CAST(${sqlInstant(Math.max(lo, hi - 1))} AS DATE)) t`
}

/**
 * Statements that cache the replace's source (and the late windows), ending with the counts per
 * part: part, candles, trades, removed, first and last window start (µs); then the late windows
 * left out before the retention cutoff.
 */
export function prepareReplaceSql(tables: SparkTables, input: ReplaceInput): {statements: string[]; late: boolean} {
  const {tf, selection} = input
  const size = TIMEFRAME_SPECS[tf].micros
  const candles = tables.candles(tf)
  const fresh: string[] = []
  const stored: string[] = []
  const statements = dropViewsSql()
  if (selection.range) {
    const {fromMicros, toMicros, market} = selection.range
    fresh.push(`SELECT 'range' AS part, n.* FROM (${candleSelectSql(tf, tradesIn(tables, input, fromMicros, toMicros, marketSql('t', market)))}) n`)
    stored.push(`SELECT DISTINCT 'range' AS part, c.symbol, c.exchange, c.window_start FROM ${candles} c
      WHERE c.window_start >= ${sqlInstant(fromMicros)} AND c.window_start < ${sqlInstant(toMicros)}${marketSql('c', market)}
        AND c.window_date >= CAST(${sqlInstant(fromMicros)} AS DATE) AND c.window_date <= CAST(${sqlInstant(toMicros - 1)} AS DATE)`)
  }

  const late = selection.late
  if (late && input.snapshotId) {
    const notBefore = late.notBeforeMicros ?? Number.MIN_SAFE_INTEGER
    statements.push(`CACHE TABLE ${LATE_VIEW} AS
      SELECT DISTINCT t.symbol, t.exchange, t.\`timestamp\` - t.\`timestamp\` % ${size}L AS ws, t.\`timestamp\` - t.\`timestamp\` % ${size}L >= ${sqlBigint(notBefore)} AS kept
      FROM ${tables.trades} VERSION AS OF ${input.snapshotId} t
      WHERE t.ingestion_timestamp > ${sqlBigint(late.ingestedAfter)} AND t.ingestion_timestamp <= ${sqlBigint(input.newestIngestion)}
        AND t.\`timestamp\` < ${sqlBigint(late.beforeMicros)}`)
    const semi = `LEFT SEMI JOIN ${LATE_VIEW} a ON a.kept AND a.symbol = t.symbol AND a.exchange = t.exchange AND a.ws = t.\`timestamp\` - t.\`timestamp\` % ${size}L`
    const lateTrades = `(SELECT t.* FROM ${tables.trades} VERSION AS OF ${input.snapshotId} t ${semi} WHERE t.\`timestamp\` < ${sqlBigint(late.beforeMicros)}) t`
    fresh.push(`SELECT 'late' AS part, n.* FROM (${candleSelectSql(tf, lateTrades)}) n`)
    stored.push(`SELECT DISTINCT 'late' AS part, c.symbol, c.exchange, c.window_start FROM ${candles} c
      LEFT SEMI JOIN ${LATE_VIEW} a ON a.kept AND a.symbol = c.symbol AND a.exchange = c.exchange AND timestamp_micros(a.ws) = c.window_start`)
  }

  const keys = KEY_COLUMNS.map((k) => `f.${k} = s.${k}`).join(' AND ')
  // The new candles are cached on their own, not as a CTE the source reads twice: Spark never
  // matches a cached plan holding such a CTE, so every later read of the source (the counts, and
  // twice the MERGE) would compute the candles from the trades again.
  statements.push(`CACHE TABLE ${FRESH_VIEW} AS ${fresh.join('\n UNION ALL\n')}`)
  statements.push(`CACHE TABLE ${SOURCE_VIEW} AS
    SELECT f.*, false AS gone FROM ${FRESH_VIEW} f
    UNION ALL
    SELECT s.part, s.symbol, s.exchange, s.window_start, ${VALUE_COLUMNS.map((c) => `NULL AS ${c}`).join(', ')}, true AS gone
    FROM (${stored.join('\n UNION ALL\n')}) s LEFT ANTI JOIN ${FRESH_VIEW} f ON ${keys}`)
  statements.push(`SELECT part, count_if(NOT gone) AS candles, coalesce(sum(trade_count), 0L) AS trades, count_if(gone) AS removed,
      min(unix_micros(window_start)) AS first_start, max(unix_micros(window_start)) AS last_start
    FROM ${SOURCE_VIEW} GROUP BY part`)
  if (late && input.snapshotId) statements.push(`SELECT count_if(NOT kept) AS beyond FROM ${LATE_VIEW}`)
  return {statements, late: Boolean(late && input.snapshotId)}
}

/**
 * The MERGE of a cached source: a tombstone deletes its stored candle; a new candle replaces the
 * stored one where a value changed (created_at kept; updated_at only moves on a change) or is
 * inserted. Nothing is ever added to stored values.
 */
export function mergeSql(tables: SparkTables, tf: Timeframe, nowMicros: number, span: {firstMicros: number; lastMicros: number}): string {
  const now = sqlInstant(nowMicros)
  // The span of the source's windows bounds the target's scan to the partitions it can touch.
  const pruned = `c.window_date >= CAST(${sqlInstant(span.firstMicros)} AS DATE) AND c.window_date <= CAST(${sqlInstant(span.lastMicros)} AS DATE)`
  const all = [...KEY_COLUMNS, ...VALUE_COLUMNS]
  const same = VALUE_COLUMNS.map((c) => `c.${c} <=> s.${c}`).join(' AND ')
  return `MERGE INTO ${tables.candles(tf)} c USING ${SOURCE_VIEW} s
    ON ${KEY_COLUMNS.map((k) => `c.${k} = s.${k}`).join(' AND ')} AND ${pruned}
    WHEN MATCHED AND s.gone THEN DELETE
    WHEN MATCHED AND NOT (${same}) THEN UPDATE SET ${VALUE_COLUMNS.map((c) => `${c} = s.${c}`).join(', ')}, updated_at = ${now}
    WHEN NOT MATCHED AND NOT s.gone THEN INSERT (${all.join(', ')}, created_at, updated_at) VALUES (${all.map((c) => `s.${c}`).join(', ')}, ${now}, ${now})`
}
