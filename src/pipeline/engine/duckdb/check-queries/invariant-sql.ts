import type {CandleEvidence, DuplicateKeyFigures, Offending, RowInvariant, RowInvariantFigures, TimeframeSince} from '../../check-queries.js'
import type {Warehouse} from '../warehouse.js'

import {ROW_INVARIANTS} from '../../check-queries.js'
import {isoSql} from '../sql-time.js'
import {TIMEFRAME_SPECS} from '../../../timeframes.js'
import {numberOrNull} from './trade-minutes.js'

/** The SQL condition of a violation of each row invariant. */
const VIOLATIONS: Record<RowInvariant, string> = {
  ohlc_bounds: 'NOT (high_price >= open_price AND high_price >= close_price AND low_price <= open_price AND low_price <= close_price)',
  vwap_bounds: 'NOT (vwap BETWEEN low_price AND high_price)',
  positive_volume: 'NOT (volume > 0 AND trade_count > 0)',
  window_order: 'NOT (window_end > window_start)',
  window_length: 'epoch_us(window_end) - epoch_us(window_start) <> $micros::BIGINT',
  window_alignment: 'epoch_us(window_start) % $micros::BIGINT <> 0',
  window_date: 'window_date <> CAST(window_start AS DATE)',
}

const CANDLE_COLUMNS = `symbol, exchange, ${isoSql('window_start')} AS window_start,
  ${isoSql('window_end')} AS window_end, window_date::VARCHAR AS window_date,
  open_price, high_price, low_price, close_price, volume, trade_count::DOUBLE AS trade_count, vwap`

export async function rowInvariantFigures(warehouse: Warehouse, spans: TimeframeSince[], limit: number): Promise<RowInvariantFigures[]> {
  const figures: RowInvariantFigures[] = []
  for (const span of spans) figures.push(await timeframeInvariants(warehouse, span, limit))
  return figures
}

async function timeframeInvariants(warehouse: Warehouse, span: TimeframeSince, limit: number): Promise<RowInvariantFigures> {
  const {micros, table} = TIMEFRAME_SPECS[span.timeframe]
  const params = {micros: BigInt(micros), from: BigInt(span.fromMicros)}
  const inRange = 'window_start >= make_timestamp($from::BIGINT)'
  // One scan counts every invariant; evidence is read only for the ones that broke.
  const counts = await warehouse.one<Record<string, bigint | null>>(
    `SELECT count(*) AS candles, ${ROW_INVARIANTS.map(
      (name) => `count_if(${VIOLATIONS[name]}) AS ${name}, min(epoch_us(window_start)) FILTER (${VIOLATIONS[name]}) AS ${name}_first,
                max(epoch_us(window_start)) FILTER (${VIOLATIONS[name]}) AS ${name}_last`,
    ).join(', ')}
     FROM ${table} WHERE ${inRange}`,
    params,
  )
  const broken = {} as Record<RowInvariant, Offending<CandleEvidence>>
  for (const name of ROW_INVARIANTS) {
    const total = Number(counts[name])
    const offending: Offending<CandleEvidence> = {total, firstMicros: numberOrNull(counts[`${name}_first`]), lastMicros: numberOrNull(counts[`${name}_last`]), rows: []}
    if (total > 0) {
      const violation = VIOLATIONS[name]
      // DuckDB refuses a named parameter the statement does not use: pass $micros only to the invariants that use it.
      offending.rows = await warehouse.json<CandleEvidence>(
        `SELECT ${CANDLE_COLUMNS} FROM ${table} c WHERE ${inRange} AND (${violation}) ORDER BY c.window_start, c.symbol, c.exchange LIMIT $limit::INTEGER`,
        violation.includes('$micros') ? {...params, limit} : {from: params.from, limit},
      )
    }

    broken[name] = offending
  }

  return {timeframe: span.timeframe, candles: Number(counts.candles), broken}
}

export async function duplicateKeyFigures(warehouse: Warehouse, spans: TimeframeSince[], limit: number): Promise<DuplicateKeyFigures[]> {
  const figures: DuplicateKeyFigures[] = []
  for (const span of spans) {
    const rows = await warehouse.json<{symbol: string; exchange: string; window_start: string; copies: number; total: string; first: string; last: string}>(
      `SELECT symbol, exchange, ${isoSql('window_start')} AS window_start, count(*)::DOUBLE AS copies,
              count(*) OVER () AS total, min(epoch_us(window_start)) OVER () AS first, max(epoch_us(window_start)) OVER () AS last
       FROM ${TIMEFRAME_SPECS[span.timeframe].table} c WHERE c.window_start >= make_timestamp($from::BIGINT)
       GROUP BY c.symbol, c.exchange, c.window_start HAVING count(*) > 1
       ORDER BY c.window_start, c.symbol, c.exchange LIMIT $limit::INTEGER`,
      {from: BigInt(span.fromMicros), limit},
    )
    const head = rows[0]
    figures.push({
      timeframe: span.timeframe,
      duplicates: {
        total: head ? Number(head.total) : 0,
        firstMicros: head ? Number(head.first) : null,
        lastMicros: head ? Number(head.last) : null,
        rows: rows.map((row) => ({symbol: row.symbol, exchange: row.exchange, window_start: row.window_start, copies: row.copies})),
      },
    })
  }

  return figures
}
