import type {KeptFrom} from '../pipeline/retention-policy.js'
import type {Warehouse} from '../pipeline/engine/duckdb/warehouse.js'

import {formatMicros} from '../pipeline/time.js'
import {TIMEFRAME_SPECS, Timeframe, floorToWindow} from '../pipeline/timeframes.js'
import {CheckOptions, CheckResult, checkResult, plural, verb} from './check.js'
import {Thresholds} from './thresholds.js'
import {TRADE_MINUTES_SQL, ensureTradeMinutes, pendingAwareResult, pendingConditionSql, tradeWindowsSql} from './trade-windows.js'
import {isoSql} from './sql-time.js'

const MINUTE = 60_000_000

export interface GapsOptions extends CheckOptions {
  timeframes: Timeframe[]
  fromMicros: number
  toMicros: number
  thresholds: Thresholds
  /** Each timeframe's retention cutoff: windows before it were deleted by retention, not missed by the pipeline. */
  keptFrom?: KeptFrom
}

/**
 * Missing candles, judged by the source: a window with trades and no candle is a pipeline gap
 * (fail, with the backfill that fills it); a window without trades is a quiet market (pass); a
 * long silence on a pair that normally trades all the time is an ingest gap (warn: the tape has a
 * hole, no candle can be built until it is ingested).
 */
export async function gapsChecks(warehouse: Warehouse, options: GapsOptions): Promise<CheckResult[]> {
  await ensureTradeMinutes(warehouse, options.fromMicros, Math.min(options.toMicros, options.nowMicros))
  const results: CheckResult[] = []
  for (const tf of options.timeframes) results.push(await pipelineGapCheck(warehouse, tf, options))
  results.push(await ingestGapCheck(warehouse, options))
  return results
}

async function pipelineGapCheck(warehouse: Warehouse, tf: Timeframe, options: GapsOptions): Promise<CheckResult> {
  const spec = TIMEFRAME_SPECS[tf]
  // Every closed window that overlaps the range is expected to have a candle, unless retention deleted it.
  const kept = options.keptFrom?.[tf]
  const retained = kept !== undefined && kept.fromMicros > options.fromMicros
  const from = floorToWindow(retained ? kept.fromMicros : options.fromMicros, tf)
  const to = Math.max(from, floorToWindow(Math.min(options.toMicros, options.nowMicros), tf))
  const pending = await pendingConditionSql(warehouse, tf)
  const rows = await warehouse.json<Record<string, string | boolean>>(
    `WITH tw AS (${tradeWindowsSql(tf)}),
     candles AS (
       SELECT symbol, exchange, epoch_us(window_start) AS w FROM ${spec.table}
       WHERE window_start >= make_timestamp($from::BIGINT) AND window_start < make_timestamp($to::BIGINT)
     ),
     missing AS (
       SELECT tw.*, ${pending} AS pending FROM tw ANTI JOIN candles USING (symbol, exchange, w)
     ),
     quiet AS (
       -- Windows between a pair's first and last trade window without any trade: expected to have no candle.
       SELECT sum((max_w - min_w) // ${spec.micros} + 1 - windows) AS quiet
       FROM (SELECT symbol, exchange, min(w) AS min_w, max(w) AS max_w, count(*) AS windows FROM tw GROUP BY symbol, exchange)
     ),
     shown AS (
       SELECT symbol, exchange, ${isoSql('make_timestamp(w)')} AS window_start, trades::DOUBLE AS trades,
              CASE WHEN pending THEN 'pending' ELSE 'pipeline gap' END AS kind
       FROM missing ORDER BY pending, w, symbol, exchange LIMIT $limit::INTEGER
     ),
     totals AS (
       SELECT count(*) AS total, count_if(NOT pending) AS gaps, min(w) FILTER (NOT pending) AS first, max(w) FILTER (NOT pending) AS last,
              (SELECT count(*) FROM tw) AS windows
       FROM missing
     )
     -- One row at least: the totals, with the shown windows beside them.
     SELECT totals.*, quiet.quiet, shown.* FROM totals CROSS JOIN quiet LEFT JOIN shown ON true
     ORDER BY shown.kind = 'pending', shown.window_start, shown.symbol, shown.exchange`,
    {from: BigInt(from), to: BigInt(to), limit: options.limit},
  )
  const totals = rows[0]
  const quiet = Number(totals.quiet ?? 0)
  const total = Number(totals.total)
  const gaps = Number(totals.gaps)
  const quietNote = (quiet > 0 ? `; ${plural(quiet, 'window')} without trades (quiet market)` : '') + (retained ? `; windows before ${formatMicros(kept.fromMicros)} not checked (deleted by the ${kept.policyDays}-day retention)` : '')
  return pendingAwareResult({
    name: 'pipeline_gaps',
    timeframe: tf,
    unit: 'windows',
    checked: Number(totals.windows),
    counts: {total, broken: gaps, first: Number(totals.first), last: Number(totals.last)},
    evidence: rows
      .filter((row) => row.kind !== null)
      .map(({total: _t, gaps: _g, first: _f, last: _l, quiet: _q, windows: _w, ...row}) => ({timeframe: tf, ...row}) as Record<string, string>),
    summary: {
      pass: `every window with trades has a candle${quietNote}`,
      pending: `${plural(total, 'window')} with trades ${verb(total, 'waits', 'wait')} for the next ${spec.flow} run`,
      broken: `${plural(gaps, 'window')} with trades ${verb(gaps, 'has', 'have')} no ${tf} candle${total > gaps ? ` (${total - gaps} more ${verb(total - gaps, 'waits', 'wait')} for the next run)` : ''}`,
    },
  })
}

async function ingestGapCheck(warehouse: Warehouse, options: GapsOptions): Promise<CheckResult> {
  const {ingestGapMinutes, ingestGapExpectedTrades} = options.thresholds
  const window = {from: BigInt(floorToWindow(options.fromMicros, '1m')), to: BigInt(Math.min(options.toMicros, options.nowMicros))}
  const rows = await warehouse.json<Record<string, string>>(
    `WITH minutes AS (${TRADE_MINUTES_SQL}), exchange_end AS (
       SELECT exchange, max(w) + ${MINUTE} AS last_end FROM minutes GROUP BY exchange
     ), pairs AS (
       -- A pair's rate over its span up to its exchange's newest minute: a pair that went silent
       -- while its exchange kept trading is silent until that end.
       SELECT m.symbol, m.exchange, sum(m.trades) / ((any_value(e.last_end) - min(m.w)) / ${MINUTE}) AS per_minute
       FROM minutes m JOIN exchange_end e USING (exchange) GROUP BY m.symbol, m.exchange
     ), silences AS (
       SELECT m.symbol, m.exchange, m.w + ${MINUTE} AS silent_from,
              lead(m.w, 1, e.last_end) OVER (PARTITION BY m.symbol, m.exchange ORDER BY m.w) AS silent_to
       FROM minutes m JOIN exchange_end e USING (exchange)
     )
     SELECT s.symbol, s.exchange, ${isoSql('make_timestamp(s.silent_from)')} AS silent_from,
            ${isoSql('make_timestamp(s.silent_to)')} AS silent_to,
            ((s.silent_to - s.silent_from) // ${MINUTE})::DOUBLE AS minutes, round(p.per_minute * (s.silent_to - s.silent_from) / ${MINUTE}) AS expected_trades,
            count(*) OVER () AS total
     FROM silences s JOIN pairs p USING (symbol, exchange)
     WHERE s.silent_to - s.silent_from >= $gap::BIGINT AND p.per_minute * (s.silent_to - s.silent_from) / ${MINUTE} >= $expected
     ORDER BY s.silent_from, s.symbol, s.exchange LIMIT $limit::INTEGER`,
    {...window, gap: BigInt(ingestGapMinutes * MINUTE), expected: ingestGapExpectedTrades, limit: options.limit},
  )
  const total = rows.length > 0 ? Number(rows[0].total) : 0
  const thresholds = {warn: 0, fail: null}
  const minutes = await warehouse.one<{minutes: bigint}>(`SELECT count(*) AS minutes FROM (${TRADE_MINUTES_SQL})`, {from: window.from, to: window.to})
  const checked = Number(minutes.minutes)
  if (total === 0) {
    return checkResult({
      name: 'ingest_gaps',
      status: 'pass',
      summary: `no silence of ${ingestGapMinutes} min or more where a pair's own rate expects ${ingestGapExpectedTrades}+ trades`,
      value: 0,
      unit: 'silences',
      checked,
      thresholds,
    })
  }

  const first = rows[0]
  return checkResult({
    name: 'ingest_gaps',
    status: 'warn',
    summary: `${plural(total, 'silence')} on pairs that normally trade (first: ${first.symbol}@${first.exchange} from ${first.silent_from}, ${first.minutes} min, ~${first.expected_trades} trades expected): the tapes have holes`,
    value: total,
    unit: 'silences',
    checked,
    thresholds,
    evidence: rows.map(({total: _t, ...row}) => row),
    evidenceOmitted: total - rows.length,
    hint: `ingest the tapes covering ${first.silent_from} to ${first.silent_to} (k2ops ingest FILE...), then k2ops backfill`,
  })
}
