import type {CandleQuery, CandleRow, EngineSummary, TimeframeRange, TradeQuery, TradeRow} from '../engine.js'
import type {SparkSql} from './spark-engine.js'

import {tradesCounted} from '../../schema.js'
import {formatMicros} from '../../time.js'
import {TIMEFRAMES, Timeframe} from '../../timeframes.js'
import {marketSql, sqlBigint, sqlInstant, sqlString} from './sql-text.js'
import {SparkTables} from './tables.js'

// What backfill, recover, candles and the demo ask about ranges of windows and the tables, on Spark: one
// request for all of a call's ranges.

/** The ranges of one timeframe as an inline table r(i, lo, hi). */
function rangesRelation(ranges: Array<{range: TimeframeRange; index: number}>): string {
  return `(SELECT * FROM VALUES ${ranges.map(({range, index}) => `(${index}, ${sqlBigint(range.fromMicros)}, ${sqlBigint(range.toMicros)})`).join(', ')} AS v(i, lo, hi)) r`
}

function byTimeframe(ranges: TimeframeRange[]): Array<[Timeframe, Array<{range: TimeframeRange; index: number}>]> {
  return TIMEFRAMES.map((tf): [Timeframe, Array<{range: TimeframeRange; index: number}>] => [
    tf,
    ranges.flatMap((range, index) => (range.timeframe === tf ? [{range, index}] : [])),
  ]).filter(([, own]) => own.length > 0)
}

/** engine.ts measureRanges. */
export async function measureRanges(session: SparkSql, tables: SparkTables, ranges: TimeframeRange[]): Promise<Array<{candles: number; trades: number}>> {
  const measured = ranges.map(() => ({candles: 0, trades: 0}))
  const groups = byTimeframe(ranges)
  if (groups.length === 0) return measured
  const statements = groups.flatMap(([tf, own]) => [
    // The ranges of one call share a market (a backfill's), if any.
    `SELECT r.i, count(c.window_start) FROM ${rangesRelation(own)} JOIN ${tables.candles(tf)} c
       ON c.window_start >= timestamp_micros(r.lo) AND c.window_start < timestamp_micros(r.hi)${marketSql('c', own[0].range.market)} GROUP BY r.i`,
    `SELECT r.i, count(t.trade_id) FROM ${rangesRelation(own)} JOIN ${tables.trades} t
       ON t.\`timestamp\` >= r.lo AND t.\`timestamp\` < r.hi${marketSql('t', own[0].range.market)} GROUP BY r.i`,
  ])
  const results = await session.sql(statements)
  results.forEach((result, n) => {
    for (const [i, count] of result.rows) measured[Number(i)][n % 2 === 0 ? 'candles' : 'trades'] = Number(count)
  })
  return measured
}

/** engine.ts candlesUpdatedAt. */
export async function candlesUpdatedAt(session: SparkSql, tables: SparkTables, ranges: TimeframeRange[], atMicros: number): Promise<Array<{timeframe: Timeframe; fromMicros: number; candles: number}>> {
  const groups = byTimeframe(ranges)
  if (groups.length === 0) return []
  const results = await session.sql(
    groups.map(
      ([tf, own]) => `SELECT r.lo, count(c.window_start) FROM ${rangesRelation(own)} JOIN ${tables.candles(tf)} c
         ON c.window_start >= timestamp_micros(r.lo) AND c.window_start < timestamp_micros(r.hi) AND c.updated_at = ${sqlInstant(atMicros)} GROUP BY r.lo`,
    ),
  )
  return groups.flatMap(([tf], n) => results[n].rows.map(([lo, count]) => ({timeframe: tf, fromMicros: Number(lo), candles: Number(count)})))
}

/** engine.ts summarize. */
export async function summarize(session: SparkSql, tables: SparkTables): Promise<EngineSummary> {
  const [markets, ...counts] = await session.sql([
    `SELECT exchange, symbol, count(*), min(\`timestamp\`), max(\`timestamp\`) FROM ${tables.trades} GROUP BY exchange, symbol ORDER BY exchange, symbol`,
    ...TIMEFRAMES.map((tf) => `SELECT count(*) FROM ${tables.candles(tf)}`),
  ])
  const second = (micros: unknown) => formatMicros(Math.floor(Number(micros) / 1e6) * 1e6)
  const rows = markets.rows.map(([exchange, symbol, trades, from, to]) => ({exchange: String(exchange), symbol: String(symbol), trades: Number(trades), from: second(from), to: second(to)}))
  return {
    trades: rows.reduce((sum, m) => sum + m.trades, 0),
    markets: rows,
    candles: Object.fromEntries(TIMEFRAMES.map((tf, i) => [tf, Number(counts[i].rows[0][0])])),
  }
}

/** engine.ts readCandles: decimals as exact text. */
export async function readCandles(session: SparkSql, tables: SparkTables, query: CandleQuery): Promise<CandleRow[]> {
  const where = ['true']
  if (query.symbol !== undefined) where.push(`symbol IN (${(typeof query.symbol === 'string' ? [query.symbol] : query.symbol).map(sqlString).join(', ')})`)
  if (query.exchange) where.push(`exchange = ${sqlString(query.exchange)}`)
  if (query.fromMicros !== undefined) where.push(`window_start >= ${sqlInstant(query.fromMicros)}`)
  if (query.toMicros !== undefined) where.push(`window_start < ${sqlInstant(query.toMicros)}`)
  const [result] = await session.sql([
    `SELECT symbol, exchange, unix_micros(window_start), unix_micros(window_end), CAST(open_price AS STRING), CAST(high_price AS STRING),
            CAST(low_price AS STRING), CAST(close_price AS STRING), CAST(volume AS STRING), CAST(trade_count AS STRING), CAST(vwap AS STRING),
            CAST(quote_volume AS STRING), CAST(taker_buy_volume AS STRING), CAST(taker_buy_quote_volume AS STRING)
     FROM ${tables.candles(query.timeframe)} WHERE ${where.join(' AND ')}
     ORDER BY window_start DESC, exchange DESC, symbol DESC LIMIT ${Math.floor(query.limit)}`,
  ])
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value))
  return result.rows.reverse().map(([symbol, exchange, start, end, open, high, low, close, volume, count, vwap, quote, takerBuy, takerBuyQuote]) => ({
    symbol: String(symbol),
    exchange: String(exchange),
    window_start: formatMicros(Number(start)),
    window_end: formatMicros(Number(end)),
    open_price: String(open),
    high_price: String(high),
    low_price: String(low),
    close_price: String(close),
    volume: String(volume),
    trade_count: String(count),
    vwap: String(vwap),
    quote_volume: text(quote),
    taker_buy_volume: text(takerBuy),
    taker_buy_quote_volume: text(takerBuyQuote),
  }))
}

/** engine.ts readTrades: per exchange, in the candles' order (a trade without a sequence after those with one). */
export async function readTrades(session: SparkSql, tables: SparkTables, query: TradeQuery): Promise<TradeRow[]> {
  const exchange = query.exchange ? ` AND t.exchange = ${sqlString(query.exchange)}` : ''
  const [result] = await session.sql([
    `SELECT t.exchange, t.symbol, t.\`timestamp\`, CAST(t.price AS STRING), CAST(t.quantity AS STRING), ${tradesCounted()}
     FROM ${tables.trades} t
     WHERE t.symbol = ${sqlString(query.symbol)} AND t.\`timestamp\` >= ${sqlBigint(query.fromMicros)} AND t.\`timestamp\` < ${sqlBigint(query.toMicros)}${exchange}
       AND t.exchange_date >= CAST(${sqlInstant(query.fromMicros)} AS DATE) AND t.exchange_date <= CAST(${sqlInstant(Math.max(query.fromMicros, query.toMicros - 1))} AS DATE)
     ORDER BY t.exchange, t.\`timestamp\`, coalesce(t.source_sequence, 9223372036854775807L), t.trade_id
     LIMIT ${Math.floor(query.limit)}`,
  ])
  return result.rows.map(([exchange, symbol, ts, price, quantity, trades]) => ({
    exchange: String(exchange),
    symbol: String(symbol),
    timestampMicros: Number(ts),
    price: String(price),
    quantity: String(quantity),
    trades: Number(trades),
  }))
}
