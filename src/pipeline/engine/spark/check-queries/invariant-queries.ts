import type {CandleEvidence, DuplicateKeyFigures, Offending, RowInvariant, RowInvariantFigures, TimeframeSince} from '../../check-queries.js'
import type {SparkResult} from '../spark-engine.js'

import {ROW_INVARIANTS} from '../../check-queries.js'
import {TIMEFRAME_SPECS, Timeframe} from '../../../timeframes.js'
import {sqlInstant, sqlString} from '../sql-text.js'
import {SparkTables} from '../tables.js'
import {isoText, num, numOrNull, records, text} from './spark-check-sql.js'

/** When a candle breaks each row invariant, as Spark SQL over one candle (`size`: the timeframe in µs). */
function broken(name: RowInvariant, size: number): string {
  switch (name) {
    case 'ohlc_bounds':
      return 'high_price < greatest(open_price, close_price) OR low_price > least(open_price, close_price)'
    case 'vwap_bounds':
      return 'vwap < low_price OR vwap > high_price'
    case 'positive_volume':
      return 'volume <= 0 OR trade_count <= 0'
    case 'window_order':
      return 'window_start >= window_end'
    case 'window_length':
      return `unix_micros(window_end) - unix_micros(window_start) <> ${size}L`
    case 'window_alignment':
      return `unix_micros(window_start) % ${size}L <> 0`
    case 'window_date':
      return 'to_date(window_start) <> window_date'
  }
}

/** The candles of each span, with a `tf` column; `columns` picked from each. */
function spansRelation(tables: SparkTables, spans: TimeframeSince[], columns: (tf: Timeframe) => string): string {
  return spans
    .map(({timeframe: tf, fromMicros}) => `SELECT ${sqlString(tf)} AS tf, ${columns(tf)} FROM ${tables.candles(tf)} WHERE window_start >= ${sqlInstant(fromMicros)}`)
    .join('\n UNION ALL\n ')
}

/**
 * One statement for every span: per timeframe its candles (a row with `inv` NULL), and per broken
 * invariant its total, first and last window start and its first `limit` candles.
 */
export function rowInvariantsSql(tables: SparkTables, spans: TimeframeSince[], limit: number): string {
  const flags = (tf: Timeframe) =>
    `symbol, exchange, window_start, window_end, window_date, open_price, high_price, low_price, close_price, volume, trade_count, vwap,
     filter(array(${ROW_INVARIANTS.map((name) => `IF(${broken(name, TIMEFRAME_SPECS[tf].micros)}, '${name}', NULL)`).join(', ')}), x -> x IS NOT NULL) AS broken`
  return `WITH c AS (${spansRelation(tables, spans, flags)}),
    e AS (
      SELECT c.*, inv, row_number() OVER (PARTITION BY tf, inv ORDER BY window_start, symbol, exchange) AS n,
             count(*) OVER (PARTITION BY tf, inv) AS total,
             min(unix_micros(window_start)) OVER (PARTITION BY tf, inv) AS first_start, max(unix_micros(window_start)) OVER (PARTITION BY tf, inv) AS last_start
      FROM c LATERAL VIEW explode(broken) b AS inv
    )
    SELECT tf, CAST(NULL AS STRING) AS inv, count(*) AS total, NULL AS first_start, NULL AS last_start, NULL AS n, NULL AS symbol, NULL AS exchange,
           NULL AS window_start, NULL AS window_end, NULL AS window_date, NULL AS open_price, NULL AS high_price, NULL AS low_price,
           NULL AS close_price, NULL AS volume, NULL AS trade_count, NULL AS vwap
    FROM c GROUP BY tf
    UNION ALL
    SELECT tf, inv, total, first_start, last_start, n, symbol, exchange, ${isoText('window_start')}, ${isoText('window_end')}, CAST(window_date AS STRING),
           CAST(open_price AS STRING), CAST(high_price AS STRING), CAST(low_price AS STRING), CAST(close_price AS STRING), CAST(volume AS STRING), trade_count, CAST(vwap AS STRING)
    FROM e WHERE n <= ${Math.max(1, Math.floor(limit))}
    ORDER BY tf, inv, n`
}

export function readRowInvariants(spans: TimeframeSince[], limit: number, result: SparkResult): RowInvariantFigures[] {
  const rows = records(result)
  return spans.map(({timeframe: tf}) => {
    const own = rows.filter((row) => row.tf === tf)
    const brokenBy = {} as Record<RowInvariant, Offending<CandleEvidence>>
    for (const name of ROW_INVARIANTS) {
      const found = own.filter((row) => row.inv === name)
      const head = found[0]
      brokenBy[name] = {
        total: head ? num(head.total) : 0,
        firstMicros: head ? numOrNull(head.first_start) : null,
        lastMicros: head ? numOrNull(head.last_start) : null,
        rows: found.slice(0, limit).map((row) => ({
          symbol: text(row.symbol),
          exchange: text(row.exchange),
          window_start: text(row.window_start),
          window_end: text(row.window_end),
          window_date: text(row.window_date),
          open_price: text(row.open_price),
          high_price: text(row.high_price),
          low_price: text(row.low_price),
          close_price: text(row.close_price),
          volume: text(row.volume),
          trade_count: num(row.trade_count),
          vwap: text(row.vwap),
        })),
      }
    }

    const counted = own.find((row) => row.inv === null)
    return {timeframe: tf, candles: counted ? num(counted.total) : 0, broken: brokenBy}
  })
}

/** One statement for every span: the keys with more than one candle, their total, first and last, the first `limit`. */
export function duplicateKeysSql(tables: SparkTables, spans: TimeframeSince[], limit: number): string {
  return `WITH c AS (${spansRelation(tables, spans, () => 'symbol, exchange, window_start')}),
    d AS (
      SELECT tf, symbol, exchange, window_start, count(*) AS copies FROM c GROUP BY tf, symbol, exchange, window_start HAVING count(*) > 1
    ),
    n AS (
      SELECT d.*, row_number() OVER (PARTITION BY tf ORDER BY window_start, symbol, exchange) AS n, count(*) OVER (PARTITION BY tf) AS total,
             min(unix_micros(window_start)) OVER (PARTITION BY tf) AS first_start, max(unix_micros(window_start)) OVER (PARTITION BY tf) AS last_start
      FROM d
    )
    SELECT tf, symbol, exchange, ${isoText('window_start')} AS window_start, copies, total, first_start, last_start
    FROM n WHERE n <= ${Math.max(1, Math.floor(limit))} ORDER BY tf, n`
}

export function readDuplicateKeys(spans: TimeframeSince[], result: SparkResult): DuplicateKeyFigures[] {
  const rows = records(result)
  return spans.map(({timeframe: tf}) => {
    const own = rows.filter((row) => row.tf === tf)
    const head = own[0]
    return {
      timeframe: tf,
      duplicates: {
        total: head ? num(head.total) : 0,
        firstMicros: head ? num(head.first_start) : null,
        lastMicros: head ? num(head.last_start) : null,
        rows: own.map((row) => ({symbol: text(row.symbol), exchange: text(row.exchange), window_start: text(row.window_start), copies: num(row.copies)})),
      },
    }
  })
}
