import type {CheckQueries, MarketVolumeFigures, SourceTradeFigures} from '../pipeline/engine/check-queries.js'

import {MICROS_PER_SECOND, parseIsoInstant} from '../pipeline/time.js'
import {CheckOptions, CheckResult, EvidenceRow, checkResult, plural, verb} from './check.js'
import {Thresholds} from './thresholds.js'

const HOUR = 3600 * MICROS_PER_SECOND
const DAY = 24 * HOUR
const EARLIEST_PLAUSIBLE = parseIsoInstant('2009-01-01', 'earliest trade')

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
export async function sourceTradeChecks(queries: CheckQueries, options: SourceTradeOptions): Promise<CheckResult[]> {
  // Asked at once: an engine may answer them together (one Spark request).
  const [figures, volumes] = await Promise.all([
    queries.sourceTrades({
      idsSinceMicros: options.sinceMicros,
      fillsSinceMicros: options.fillsSinceMicros ?? options.sinceMicros,
      earliestMicros: EARLIEST_PLAUSIBLE,
      latestMicros: options.nowMicros + options.thresholds.futureToleranceSeconds * MICROS_PER_SECOND,
      limit: options.limit,
    }),
    queries.marketVolumes({dayFromMicros: options.nowMicros - DAY, hourFromMicros: options.nowMicros - HOUR, throughMicros: options.nowMicros, limit: options.limit}),
  ])
  const allTrades = figures.trades
  return [
    badRowsCheck(figures.badValues, {
      name: 'trade_values',
      meaning: 'price > 0 and quantity > 0',
      checked: allTrades,
      hint: 'fix the feed, delete the rows, then k2ops backfill the windows they touched',
    }),
    badRowsCheck(figures.badTimestamps, {
      name: 'trade_timestamps',
      meaning: 'timestamps between 2009-01-01 and now',
      checked: allTrades,
      hint: 'a unit mix-up (ms vs µs) in the feed is the usual cause; fix it and re-ingest',
    }),
    duplicateCheck(
      {...figures.duplicateIds, rows: figures.duplicateIds.rows.map((row) => ({exchange: row.exchange, symbol: row.symbol, trade_id: row.trade_id, copies: row.copies}))},
      {
        name: 'duplicate_trade_ids',
        keys: 'exchange, symbol, trade_id',
        status: 'fail',
        meaning: 'one row per (exchange, symbol, trade_id)',
        checked: figures.tradesSinceIds,
        hint: 'the duplicates inflate candles: delete them, then k2ops backfill the windows they touched',
      },
    ),
    duplicateCheck(
      {
        ...figures.duplicateFills,
        rows: figures.duplicateFills.rows.map((row) => ({timestamp: row.timestamp, symbol: row.symbol, exchange: row.exchange, price: row.price, quantity: row.quantity, copies: row.copies})),
      },
      {
        name: 'duplicate_fills',
        keys: 'timestamp, symbol, exchange, price, quantity',
        status: 'warn',
        meaning: 'no identical (timestamp, symbol, exchange, price, quantity) fills',
        checked: figures.tradesSinceFills,
        hint: 'identical fills with different trade ids happen (one order hitting several at one price); many of them point at a replayed feed',
      },
    ),
    volumeCheck(volumes, allTrades),
  ]
}

function badRowsCheck(found: SourceTradeFigures['badValues'], check: {name: string; meaning: string; checked: number; hint: string}): CheckResult {
  const {checked} = check
  const {total, rows} = found
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
    evidence: rows.map((row) => ({
      trade_id: row.trade_id,
      symbol: row.symbol,
      exchange: row.exchange,
      timestamp: row.timestamp,
      price: row.price,
      quantity: row.quantity,
      side: row.side,
      ingested_at: row.ingested_at,
    })),
    evidenceOmitted: total - rows.length,
    hint: check.hint,
  })
}

function duplicateCheck(
  found: {total: number; extra: number; rows: EvidenceRow[]},
  check: {name: string; keys: string; status: 'warn' | 'fail'; meaning: string; checked: number; hint: string},
): CheckResult {
  const {checked} = check
  const {total, rows} = found
  const thresholds = check.status === 'fail' ? {warn: null, fail: 0} : {warn: 0, fail: null}
  if (total === 0) return checkResult({name: check.name, status: 'pass', summary: check.meaning, value: 0, unit: 'groups', checked, thresholds})
  return checkResult({
    name: check.name,
    status: check.status,
    summary: `${plural(total, 'group')} of identical ${check.keys} (${plural(found.extra, 'extra row')})`,
    value: total,
    unit: 'groups',
    checked,
    thresholds,
    evidence: rows,
    evidenceOmitted: total - rows.length,
    hint: check.hint,
  })
}

/** Volume per market over the last hour and day: the runbook's first look when a flow slows down. */
function volumeCheck(figures: MarketVolumeFigures, allTrades: number): CheckResult {
  const {markets, tradesLastHour: lastHour, tradesLastDay: lastDay, rows} = figures
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
    evidence: rows.map((row) => ({symbol: row.symbol, exchange: row.exchange, trades_1h: row.trades_1h, volume_1h: row.volume_1h, trades_24h: row.trades_24h, volume_24h: row.volume_24h})),
    evidenceOmitted: markets - rows.length,
    hint: silent ? 'check the trade feed (k2ops freshness shows the newest trade per exchange), then k2ops ingest the missing tapes' : null,
  })
}
