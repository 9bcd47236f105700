import type {FreshnessFigures, MarketVolumeFigures, SourceTradeFigures, SourceTradeRequest, TradeEvidence} from '../../check-queries.js'
import type {SparkResult} from '../spark-engine.js'
import type {Timeframe} from '../../../timeframes.js'

import {sqlBigint, sqlString} from '../sql-text.js'
import {SparkTables} from '../tables.js'
import {isoMicros, num, records, text} from './spark-check-sql.js'

const TS = '`timestamp`'
const limitOf = (limit: number) => Math.max(1, Math.floor(limit))

/** Two statements: each exchange's newest trade; each timeframe's candles and newest window end. */
export function freshnessSql(tables: SparkTables, timeframes: Timeframe[]): string[] {
  const candles = timeframes.map((tf) => `SELECT ${sqlString(tf)} AS tf, count(*) AS candles, max(unix_micros(window_end)) AS newest FROM ${tables.candles(tf)}`)
  return [`SELECT exchange, max(${TS}) AS newest FROM ${tables.trades} GROUP BY exchange`, candles.length > 0 ? candles.join(' UNION ALL ') : 'SELECT NULL AS tf']
}

export function readFreshness(timeframes: Timeframe[], [exchanges, candles]: SparkResult[]): FreshnessFigures {
  const byTf = new Map(records(candles).map((row) => [row.tf, row]))
  return {
    exchanges: records(exchanges).map((row) => ({exchange: text(row.exchange), newestMicros: num(row.newest)})),
    candles: timeframes.map((tf) => {
      const row = byTf.get(tf)
      return {timeframe: tf, candles: num(row?.candles ?? 0), newestEndMicros: row?.newest === null || row?.newest === undefined ? null : num(row.newest)}
    }),
  }
}

const TRADE_EVIDENCE = `trade_id, symbol, exchange, ${isoMicros(TS)} AS ts_text, CAST(price AS STRING) AS price_text, CAST(quantity AS STRING) AS quantity_text, side,
  ${isoMicros('ingestion_timestamp')} AS ingested_text`

/**
 * Four statements: the trade counts; trades with impossible values or instants (kind `values` |
 * `instants`); groups of identical ids; groups of identical fills.
 */
export function sourceTradesSql(tables: SparkTables, request: SourceTradeRequest): string[] {
  const since = sqlBigint(request.idsSinceMicros)
  const fillsSince = sqlBigint(request.fillsSinceMicros)
  const limit = limitOf(request.limit)
  const kind = `IF(price <= 0 OR quantity <= 0, 'values', NULL), IF(${TS} < ${sqlBigint(request.earliestMicros)} OR ${TS} > ${sqlBigint(request.latestMicros)}, 'instants', NULL)`
  const groups = (keys: string, shown: string, from: string) => `SELECT ${shown}, copies, total, extra FROM (
      SELECT ${keys}, count(*) AS copies, count(*) OVER () AS total, sum(count(*) - 1) OVER () AS extra
      FROM ${tables.trades} WHERE ${TS} >= ${from} GROUP BY ${keys} HAVING count(*) > 1
      ORDER BY ${keys} LIMIT ${limit})`
  return [
    `SELECT count(*) AS trades, count_if(${TS} >= ${since}) AS since_ids, count_if(${TS} >= ${fillsSince}) AS since_fills FROM ${tables.trades}`,
    `SELECT * FROM (
       SELECT kind, ${TRADE_EVIDENCE}, row_number() OVER (PARTITION BY kind ORDER BY ${TS}, trade_id) AS n, count(*) OVER (PARTITION BY kind) AS total
       FROM ${tables.trades} LATERAL VIEW explode(filter(array(${kind}), x -> x IS NOT NULL)) k AS kind
     ) WHERE n <= ${limit} ORDER BY kind, n`,
    groups('exchange, symbol, trade_id', 'exchange, symbol, trade_id', since),
    groups(`${TS}, symbol, exchange, price, quantity`, `${isoMicros(TS)} AS ts_text, symbol, exchange, CAST(price AS STRING) AS price, CAST(quantity AS STRING) AS quantity`, fillsSince),
  ]
}

export function readSourceTrades([counts, bad, ids, fills]: SparkResult[]): SourceTradeFigures {
  const totals = records(counts)[0]
  const badRows = records(bad)
  const badOf = (kind: string) => {
    const own = badRows.filter((row) => row.kind === kind)
    return {total: own.length > 0 ? num(own[0].total) : 0, rows: own.map((row) => tradeEvidence(row))}
  }

  const grouped = <Row>(result: SparkResult, read: (row: Record<string, unknown>) => Row) => {
    const rows = records(result)
    return {total: rows.length > 0 ? num(rows[0].total) : 0, extra: rows.length > 0 ? num(rows[0].extra) : 0, rows: rows.map((row) => read(row))}
  }

  return {
    trades: num(totals.trades),
    tradesSinceIds: num(totals.since_ids),
    tradesSinceFills: num(totals.since_fills),
    badValues: badOf('values'),
    badTimestamps: badOf('instants'),
    duplicateIds: grouped(ids, (row) => ({exchange: text(row.exchange), symbol: text(row.symbol), trade_id: text(row.trade_id), copies: num(row.copies)})),
    duplicateFills: grouped(fills, (row) => ({
      timestamp: text(row.ts_text),
      symbol: text(row.symbol),
      exchange: text(row.exchange),
      price: text(row.price),
      quantity: text(row.quantity),
      copies: num(row.copies),
    })),
  }
}

function tradeEvidence(row: Record<string, unknown>): TradeEvidence {
  return {
    trade_id: text(row.trade_id),
    symbol: text(row.symbol),
    exchange: text(row.exchange),
    timestamp: text(row.ts_text),
    price: text(row.price_text),
    quantity: text(row.quantity_text),
    side: text(row.side),
    ingested_at: text(row.ingested_text),
  }
}

/** One statement: trades and volume per market over the day and the hour up to throughMicros. */
export function marketVolumesSql(tables: SparkTables, request: {dayFromMicros: number; hourFromMicros: number; throughMicros: number; limit: number}): string {
  const inHour = `${TS} >= ${sqlBigint(request.hourFromMicros)}`
  return `SELECT symbol, exchange, count_if(${inHour}) AS trades_1h, CAST(coalesce(sum(IF(${inHour}, quantity, NULL)), CAST(0 AS DECIMAL(38,8))) AS STRING) AS volume_1h,
      count(*) AS trades_24h, CAST(sum(quantity) AS STRING) AS volume_24h, count(*) OVER () AS markets,
      sum(count_if(${inHour})) OVER () AS all_1h, sum(count(*)) OVER () AS all_24h
    FROM ${tables.trades} WHERE ${TS} >= ${sqlBigint(request.dayFromMicros)} AND ${TS} <= ${sqlBigint(request.throughMicros)}
    GROUP BY symbol, exchange ORDER BY trades_24h DESC, symbol, exchange LIMIT ${limitOf(request.limit)}`
}

export function readMarketVolumes(result: SparkResult): MarketVolumeFigures {
  const rows = records(result)
  const head = rows[0]
  return {
    markets: head ? num(head.markets) : 0,
    tradesLastHour: head ? num(head.all_1h) : 0,
    tradesLastDay: head ? num(head.all_24h) : 0,
    rows: rows.map((row) => ({
      symbol: text(row.symbol),
      exchange: text(row.exchange),
      trades_1h: num(row.trades_1h),
      volume_1h: text(row.volume_1h),
      trades_24h: num(row.trades_24h),
      volume_24h: text(row.volume_24h),
    })),
  }
}
