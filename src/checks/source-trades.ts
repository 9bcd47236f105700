import type {Warehouse} from '../pipeline/engine/duckdb/warehouse.js'

import {TRADES_TABLE} from '../pipeline/schema.js'
import {MICROS_PER_SECOND, parseIsoInstant} from '../pipeline/time.js'
import {CheckOptions, CheckResult, checkResult, plural, verb} from './check.js'
import {Thresholds} from './thresholds.js'
import {isoSql} from './sql-time.js'

const HOUR = 3600 * MICROS_PER_SECOND
const DAY = 24 * HOUR
const EARLIEST_PLAUSIBLE = parseIsoInstant('2009-01-01', 'earliest trade')

const TRADE_COLUMNS = `trade_id, symbol, exchange, ${isoSql('make_timestamp("timestamp")')} AS "timestamp",
  price, quantity, side, ${isoSql('make_timestamp(ingestion_timestamp)')} AS ingested_at`

export interface SourceTradeOptions extends CheckOptions {
  /** Duplicates are looked for among trades from this instant on (µs); value and time checks cover every trade. */
  sinceMicros: number
  /** Identical fills from this instant on (default: sinceMicros); the runbook looks at the last hour. */
  fillsSinceMicros?: number
  thresholds: Thresholds
}

/**
 * The runbook's source inspection (Issue 4 step 2, Issue 5 step 1): corrupted values, impossible
 * timestamps, duplicate ids, suspicious identical fills, and each market's recent volume.
 */
export async function sourceTradeChecks(warehouse: Warehouse, options: SourceTradeOptions): Promise<CheckResult[]> {
  const future = options.nowMicros + options.thresholds.futureToleranceSeconds * MICROS_PER_SECOND
  const params = {since: BigInt(options.sinceMicros), limit: options.limit}
  const fillParams = {since: BigInt(options.fillsSinceMicros ?? options.sinceMicros), limit: options.limit}
  // A first pass says whether a kind of duplicate exists at all, by counting distinct hashes (a
  // collision only costs the exact query below): grouping by the keys themselves is 2–3× slower.
  const suspects = await warehouse.one<{ids: bigint; fills: bigint; all: bigint; since: bigint; fills_since: bigint}>(
    `SELECT (SELECT count(*) - count(DISTINCT hash(exchange, symbol, trade_id)) FROM ${TRADES_TABLE} WHERE "timestamp" >= $since::BIGINT) AS ids,
            (SELECT count(*) - count(DISTINCT hash("timestamp", symbol, exchange, price, quantity)) FROM ${TRADES_TABLE} WHERE "timestamp" >= $fillsSince::BIGINT) AS fills,
            (SELECT count(*) FROM ${TRADES_TABLE}) AS "all",
            (SELECT count(*) FROM ${TRADES_TABLE} WHERE "timestamp" >= $since::BIGINT) AS since,
            (SELECT count(*) FROM ${TRADES_TABLE} WHERE "timestamp" >= $fillsSince::BIGINT) AS fills_since`,
    {since: params.since, fillsSince: fillParams.since},
  )
  const allTrades = Number(suspects.all)
  return [
    await badRowsCheck(warehouse, {
      name: 'trade_values',
      meaning: 'price > 0 and quantity > 0',
      where: 'price <= 0 OR quantity <= 0',
      params: {limit: options.limit},
      checked: allTrades,
      hint: 'fix the feed, delete the rows, then k2ops backfill the windows they touched',
    }),
    await badRowsCheck(warehouse, {
      name: 'trade_timestamps',
      meaning: 'timestamps between 2009-01-01 and now',
      where: `"timestamp" < ${EARLIEST_PLAUSIBLE} OR "timestamp" > ${future}`,
      params: {limit: options.limit},
      checked: allTrades,
      hint: 'a unit mix-up (ms vs µs) in the feed is the usual cause; fix it and re-ingest',
    }),
    await duplicateCheck(warehouse, {
      name: 'duplicate_trade_ids',
      keys: ['exchange', 'symbol', 'trade_id'],
      status: 'fail',
      meaning: 'one row per (exchange, symbol, trade_id)',
      suspected: Number(suspects.ids) > 0,
      params,
      checked: Number(suspects.since),
      hint: 'the duplicates inflate candles: delete them, then k2ops backfill the windows they touched',
    }),
    await duplicateCheck(warehouse, {
      name: 'duplicate_fills',
      keys: ['"timestamp"', 'symbol', 'exchange', 'price', 'quantity'],
      status: 'warn',
      meaning: 'no identical (timestamp, symbol, exchange, price, quantity) fills',
      suspected: Number(suspects.fills) > 0,
      params: fillParams,
      checked: Number(suspects.fills_since),
      hint: 'identical fills with different trade ids happen (one order hitting several at one price); many of them point at a replayed feed',
    }),
    await volumeCheck(warehouse, options, allTrades),
  ]
}

async function badRowsCheck(
  warehouse: Warehouse,
  check: {name: string; meaning: string; where: string; params: Record<string, number | bigint>; checked: number; hint: string},
): Promise<CheckResult> {
  const {checked} = check
  const rows = await warehouse.json<Record<string, string>>(
    `SELECT ${TRADE_COLUMNS}, count(*) OVER () AS total FROM ${TRADES_TABLE} t WHERE ${check.where} ORDER BY t."timestamp", t.trade_id LIMIT $limit::INTEGER`,
    check.params,
  )
  const total = rows.length > 0 ? Number(rows[0].total) : 0
  const thresholds = {warn: null, fail: 0}
  if (total === 0) return checkResult({name: check.name, status: 'pass', summary: `every trade: ${check.meaning}`, value: 0, unit: 'trades', checked, thresholds})
  return checkResult({
    name: check.name,
    status: 'fail',
    summary: `${plural(total, 'trade')} ${verb(total, 'breaks', 'break')} ${check.meaning}`,
    value: total,
    unit: 'trades',
    checked,
    thresholds,
    evidence: rows.map(({total: _t, ...row}) => row),
    evidenceOmitted: total - rows.length,
    hint: check.hint,
  })
}

async function duplicateCheck(
  warehouse: Warehouse,
  check: {name: string; keys: string[]; status: 'warn' | 'fail'; meaning: string; suspected: boolean; params: Record<string, number | bigint>; checked: number; hint: string},
): Promise<CheckResult> {
  const {checked} = check
  const thresholds = check.status === 'fail' ? {warn: null, fail: 0} : {warn: 0, fail: null}
  if (!check.suspected) return checkResult({name: check.name, status: 'pass', summary: check.meaning, value: 0, unit: 'groups', checked, thresholds})
  const keys = check.keys.join(', ')
  const shown = check.keys.map((key) => (key === '"timestamp"' ? `${isoSql('make_timestamp("timestamp")')} AS "timestamp"` : key)).join(', ')
  const rows = await warehouse.json<Record<string, string>>(
    `SELECT ${shown}, copies::DOUBLE AS copies, total, extra FROM (
       SELECT ${keys}, count(*) AS copies, count(*) OVER () AS total, sum(count(*) - 1) OVER () AS extra
       FROM ${TRADES_TABLE} WHERE "timestamp" >= $since::BIGINT
       GROUP BY ${keys} HAVING count(*) > 1
       ORDER BY ${keys} LIMIT $limit::INTEGER
     )`,
    check.params,
  )
  const total = rows.length > 0 ? Number(rows[0].total) : 0
  if (total === 0) return checkResult({name: check.name, status: 'pass', summary: check.meaning, value: 0, unit: 'groups', checked, thresholds})
  return checkResult({
    name: check.name,
    status: check.status,
    summary: `${plural(total, 'group')} of identical ${check.keys.join(', ').replaceAll('"', '')} (${plural(Number(rows[0].extra), 'extra row')})`,
    value: total,
    unit: 'groups',
    checked,
    thresholds,
    evidence: rows.map(({total: _t, extra: _e, ...row}) => row),
    evidenceOmitted: total - rows.length,
    hint: check.hint,
  })
}

/** Volume per market over the last hour and day: the runbook's first look when a flow slows down. */
async function volumeCheck(warehouse: Warehouse, options: SourceTradeOptions, allTrades: number): Promise<CheckResult> {
  const rows = await warehouse.json<Record<string, string>>(
    `SELECT symbol, exchange, count_if("timestamp" >= $hour::BIGINT)::DOUBLE AS trades_1h, coalesce(sum(quantity) FILTER ("timestamp" >= $hour::BIGINT), 0) AS volume_1h,
            count(*)::DOUBLE AS trades_24h, sum(quantity) AS volume_24h, count(*) OVER () AS markets,
            sum(count_if("timestamp" >= $hour::BIGINT)) OVER () AS all_1h, sum(count(*)) OVER () AS all_24h
     FROM ${TRADES_TABLE} WHERE "timestamp" >= $day::BIGINT AND "timestamp" <= $now::BIGINT
     GROUP BY symbol, exchange ORDER BY trades_24h DESC, symbol, exchange LIMIT $limit::INTEGER`,
    {hour: BigInt(options.nowMicros - HOUR), day: BigInt(options.nowMicros - DAY), now: BigInt(options.nowMicros), limit: options.limit},
  )
  const markets = rows.length > 0 ? Number(rows[0].markets) : 0
  const lastHour = rows.length > 0 ? Number(rows[0].all_1h) : 0
  const lastDay = rows.length > 0 ? Number(rows[0].all_24h) : 0
  // No trades in a day of a warehouse that has trades: there is no volume to look at, and that is news.
  const silent = markets === 0 && allTrades > 0
  return checkResult({
    name: 'trade_volume',
    status: silent ? 'warn' : 'pass',
    summary:
      markets === 0
        ? `no trades in the last 24 h${silent ? ` (the warehouse holds ${plural(allTrades, 'older trade')}): nothing to measure` : ''}`
        : `${plural(markets, 'market')} traded in the last 24 h: ${plural(lastDay, 'trade')}, ${lastHour.toLocaleString('en-US')} in the last hour${markets > rows.length ? ' (top markets shown)' : ''}`,
    value: lastHour,
    unit: 'trades/h',
    checked: lastDay,
    evidence: rows.map(({markets: _m, all_1h: _h, all_24h: _d, ...row}) => row),
    evidenceOmitted: markets - rows.length,
    hint: silent ? 'check the trade feed (k2ops freshness shows the newest trade per exchange), then k2ops ingest the missing tapes' : null,
  })
}
