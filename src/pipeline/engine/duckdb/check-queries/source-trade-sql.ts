import type {MarketVolumeFigures, SourceTradeFigures, SourceTradeRequest, TradeEvidence} from '../../check-queries.js'
import type {Warehouse} from '../warehouse.js'

import {TRADES_TABLE} from '../../../schema.js'
import {isoSql} from '../sql-time.js'

const TRADE_COLUMNS = `trade_id, symbol, exchange, ${isoSql('make_timestamp("timestamp")')} AS "timestamp",
  price, quantity, side, ${isoSql('make_timestamp(ingestion_timestamp)')} AS ingested_at`

const ID_KEYS = ['exchange', 'symbol', 'trade_id']
const FILL_KEYS = ['"timestamp"', 'symbol', 'exchange', 'price', 'quantity']

export async function sourceTradeFigures(warehouse: Warehouse, request: SourceTradeRequest): Promise<SourceTradeFigures> {
  // A first pass says whether a kind of duplicate exists at all, by counting distinct hashes (a
  // collision only costs the exact query below): grouping by the keys themselves is 2–3× slower.
  const suspects = await warehouse.one<{ids: bigint; fills: bigint; all: bigint; since: bigint; fills_since: bigint}>(
    `SELECT (SELECT count(*) - count(DISTINCT hash(exchange, symbol, trade_id)) FROM ${TRADES_TABLE} WHERE "timestamp" >= $since::BIGINT) AS ids,
            (SELECT count(*) - count(DISTINCT hash("timestamp", symbol, exchange, price, quantity)) FROM ${TRADES_TABLE} WHERE "timestamp" >= $fillsSince::BIGINT) AS fills,
            (SELECT count(*) FROM ${TRADES_TABLE}) AS "all",
            (SELECT count(*) FROM ${TRADES_TABLE} WHERE "timestamp" >= $since::BIGINT) AS since,
            (SELECT count(*) FROM ${TRADES_TABLE} WHERE "timestamp" >= $fillsSince::BIGINT) AS fills_since`,
    {since: BigInt(request.idsSinceMicros), fillsSince: BigInt(request.fillsSinceMicros)},
  )
  return {
    trades: Number(suspects.all),
    tradesSinceIds: Number(suspects.since),
    tradesSinceFills: Number(suspects.fills_since),
    badValues: await badTrades(warehouse, 'price <= 0 OR quantity <= 0', request.limit),
    badTimestamps: await badTrades(warehouse, `"timestamp" < ${request.earliestMicros} OR "timestamp" > ${request.latestMicros}`, request.limit),
    duplicateIds: await duplicates<SourceTradeFigures['duplicateIds']['rows'][number]>(warehouse, ID_KEYS, Number(suspects.ids) > 0, request.idsSinceMicros, request.limit),
    duplicateFills: await duplicates<SourceTradeFigures['duplicateFills']['rows'][number]>(warehouse, FILL_KEYS, Number(suspects.fills) > 0, request.fillsSinceMicros, request.limit),
  }
}

async function badTrades(warehouse: Warehouse, where: string, limit: number): Promise<{total: number; rows: TradeEvidence[]}> {
  const rows = await warehouse.json<TradeEvidence & {total: string}>(
    `SELECT ${TRADE_COLUMNS}, count(*) OVER () AS total FROM ${TRADES_TABLE} t WHERE ${where} ORDER BY t."timestamp", t.trade_id LIMIT $limit::INTEGER`,
    {limit},
  )
  return {total: rows.length > 0 ? Number(rows[0].total) : 0, rows: rows.map(({total: _t, ...row}) => row)}
}

/** Groups of trades identical in `keys`; none when the hash pass found no suspects. */
async function duplicates<Row>(warehouse: Warehouse, keys: string[], suspected: boolean, sinceMicros: number, limit: number): Promise<{total: number; extra: number; rows: Row[]}> {
  if (!suspected) return {total: 0, extra: 0, rows: []}
  const grouped = keys.join(', ')
  const shown = keys.map((key) => (key === '"timestamp"' ? `${isoSql('make_timestamp("timestamp")')} AS "timestamp"` : key)).join(', ')
  const rows = await warehouse.json<Record<string, string | number>>(
    `SELECT ${shown}, copies::DOUBLE AS copies, total, extra FROM (
       SELECT ${grouped}, count(*) AS copies, count(*) OVER () AS total, sum(count(*) - 1) OVER () AS extra
       FROM ${TRADES_TABLE} WHERE "timestamp" >= $since::BIGINT
       GROUP BY ${grouped} HAVING count(*) > 1
       ORDER BY ${grouped} LIMIT $limit::INTEGER
     )`,
    {since: BigInt(sinceMicros), limit},
  )
  if (rows.length === 0) return {total: 0, extra: 0, rows: []}
  return {total: Number(rows[0].total), extra: Number(rows[0].extra), rows: rows.map(({total: _t, extra: _e, ...row}) => row as Row)}
}

export async function marketVolumeFigures(warehouse: Warehouse, request: {dayFromMicros: number; hourFromMicros: number; throughMicros: number; limit: number}): Promise<MarketVolumeFigures> {
  const rows = await warehouse.json<MarketVolumeFigures['rows'][number] & {markets: string; all_1h: string; all_24h: string}>(
    `SELECT symbol, exchange, count_if("timestamp" >= $hour::BIGINT)::DOUBLE AS trades_1h, coalesce(sum(quantity) FILTER ("timestamp" >= $hour::BIGINT), 0) AS volume_1h,
            count(*)::DOUBLE AS trades_24h, sum(quantity) AS volume_24h, count(*) OVER () AS markets,
            sum(count_if("timestamp" >= $hour::BIGINT)) OVER () AS all_1h, sum(count(*)) OVER () AS all_24h
     FROM ${TRADES_TABLE} WHERE "timestamp" >= $day::BIGINT AND "timestamp" <= $now::BIGINT
     GROUP BY symbol, exchange ORDER BY trades_24h DESC, symbol, exchange LIMIT $limit::INTEGER`,
    {hour: BigInt(request.hourFromMicros), day: BigInt(request.dayFromMicros), now: BigInt(request.throughMicros), limit: request.limit},
  )
  const head = rows[0]
  return {
    markets: head ? Number(head.markets) : 0,
    tradesLastHour: head ? Number(head.all_1h) : 0,
    tradesLastDay: head ? Number(head.all_24h) : 0,
    rows: rows.map(({markets: _m, all_1h: _h, all_24h: _d, ...row}) => row),
  }
}
