import type {Warehouse} from '../pipeline/engine/duckdb/warehouse.js'

import {TRADES_TABLE} from '../pipeline/schema.js'
import {formatMicros} from '../pipeline/time.js'
import {TIMEFRAME_SPECS, Timeframe, floorToWindow} from '../pipeline/timeframes.js'
import {readMark} from '../pipeline/engine/duckdb/watermark.js'
import {CheckOptions, CheckResult, checkResult, plural, verb} from './check.js'
import {isoSql} from './sql-time.js'

/** One invariant of a candle row: its id, what it means, and the SQL condition of a violation. */
interface RowInvariant {
  name: string
  meaning: string
  violation: string
}

/** The runbook's four invariants, then the ones it assumed: shape of the window, date, alignment. */
const ROW_INVARIANTS: RowInvariant[] = [
  {
    name: 'ohlc_bounds',
    meaning: 'high ≥ open, close and low ≤ open, close',
    violation: 'NOT (high_price >= open_price AND high_price >= close_price AND low_price <= open_price AND low_price <= close_price)',
  },
  {name: 'vwap_bounds', meaning: 'vwap within [low, high]', violation: 'NOT (vwap BETWEEN low_price AND high_price)'},
  {name: 'positive_volume', meaning: 'volume > 0 and trade_count > 0', violation: 'NOT (volume > 0 AND trade_count > 0)'},
  {name: 'window_order', meaning: 'window_end > window_start', violation: 'NOT (window_end > window_start)'},
  {name: 'window_length', meaning: 'window_end − window_start = the timeframe', violation: 'epoch_us(window_end) - epoch_us(window_start) <> $micros::BIGINT'},
  {name: 'window_alignment', meaning: 'window_start aligned to the timeframe', violation: 'epoch_us(window_start) % $micros::BIGINT <> 0'},
  {name: 'window_date', meaning: 'window_date = date(window_start)', violation: 'window_date <> CAST(window_start AS DATE)'},
]

const CANDLE_COLUMNS = `symbol, exchange, ${isoSql('window_start')} AS window_start,
  ${isoSql('window_end')} AS window_end, window_date::VARCHAR AS window_date,
  open_price, high_price, low_price, close_price, volume, trade_count::DOUBLE AS trade_count, vwap`

export interface ValidateOptions extends CheckOptions {
  timeframes: Timeframe[]
  /** Check candles whose window starts at or after this instant (µs). */
  fromMicros: number
}

/** The invariants of every candle in range, per timeframe, and each timeframe against the rollup of the one below. */
export async function validateChecks(warehouse: Warehouse, options: ValidateOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = []
  for (const tf of options.timeframes) {
    // Every window that overlaps the range: "the last day" includes yesterday's 1d candle.
    const windowed = {...options, fromMicros: floorToWindow(options.fromMicros, tf)}
    const {checks, candles} = await rowInvariantChecks(warehouse, tf, windowed)
    results.push(...checks, await uniqueKeyCheck(warehouse, tf, windowed, candles))
    if (tf !== '1m') results.push(await rollupCheck(warehouse, tf, windowed))
  }

  return results
}

async function rowInvariantChecks(warehouse: Warehouse, tf: Timeframe, options: ValidateOptions): Promise<{checks: CheckResult[]; candles: number}> {
  const {micros, table} = TIMEFRAME_SPECS[tf]
  const params = {micros: BigInt(micros), from: BigInt(options.fromMicros)}
  const inRange = 'window_start >= make_timestamp($from::BIGINT)'
  // One scan counts every invariant; evidence is read only for the ones that broke.
  const counts = await warehouse.one<Record<string, bigint>>(
    `SELECT count(*) AS candles, ${ROW_INVARIANTS.map(
      (inv) => `count_if(${inv.violation}) AS ${inv.name}, min(epoch_us(window_start)) FILTER (${inv.violation}) AS ${inv.name}_first,
                max(epoch_us(window_start)) FILTER (${inv.violation}) AS ${inv.name}_last`,
    ).join(', ')}
     FROM ${table} WHERE ${inRange}`,
    params,
  )
  const candles = Number(counts.candles)
  const results: CheckResult[] = []
  for (const inv of ROW_INVARIANTS) {
    const broken = Number(counts[inv.name])
    if (broken === 0) {
      results.push(checkResult({name: inv.name, timeframe: tf, status: 'pass', summary: `${plural(candles, 'candle')}: ${inv.meaning}`, value: 0, checked: candles, thresholds: {warn: null, fail: 0}}))
      continue
    }

    // DuckDB refuses a named parameter the statement does not use: pass $micros only to the invariants that use it.
    const evidence = await warehouse.json<Record<string, string>>(
      `SELECT ${CANDLE_COLUMNS} FROM ${table} c WHERE ${inRange} AND (${inv.violation}) ORDER BY c.window_start, c.symbol, c.exchange LIMIT $limit::INTEGER`,
      inv.violation.includes('$micros') ? {...params, limit: options.limit} : {from: params.from, limit: options.limit},
    )
    results.push(
      checkResult({
        name: inv.name,
        timeframe: tf,
        status: 'fail',
        summary: `${plural(broken, 'candle')} of ${candles.toLocaleString('en-US')} ${verb(broken, 'breaks', 'break')} ${inv.meaning}`,
        value: broken,
        checked: candles,
        thresholds: {warn: null, fail: 0},
        evidence: evidence.map((row) => ({timeframe: tf, ...row})),
        evidenceOmitted: broken - evidence.length,
        hint: backfillHint(tf, Number(counts[`${inv.name}_first`]), Number(counts[`${inv.name}_last`])),
      }),
    )
  }

  return {checks: results, candles}
}

async function uniqueKeyCheck(warehouse: Warehouse, tf: Timeframe, options: ValidateOptions, candles: number): Promise<CheckResult> {
  const {table} = TIMEFRAME_SPECS[tf]
  const duplicates = await warehouse.json<Record<string, string>>(
    `SELECT symbol, exchange, ${isoSql('window_start')} AS window_start, count(*)::DOUBLE AS copies,
            count(*) OVER () AS total, min(epoch_us(window_start)) OVER () AS first, max(epoch_us(window_start)) OVER () AS last
     FROM ${table} c WHERE c.window_start >= make_timestamp($from::BIGINT)
     GROUP BY c.symbol, c.exchange, c.window_start HAVING count(*) > 1
     ORDER BY c.window_start, c.symbol, c.exchange LIMIT $limit::INTEGER`,
    {from: BigInt(options.fromMicros), limit: options.limit},
  )
  const total = duplicates.length > 0 ? Number(duplicates[0].total) : 0
  if (total === 0) {
    return checkResult({name: 'unique_key', timeframe: tf, status: 'pass', summary: 'one candle per (symbol, exchange, window_start)', value: 0, unit: 'keys', checked: candles, thresholds: {warn: null, fail: 0}})
  }

  return checkResult({
    name: 'unique_key',
    timeframe: tf,
    status: 'fail',
    summary: `${plural(total, 'key')} with more than one candle`,
    value: total,
    unit: 'keys',
    checked: candles,
    thresholds: {warn: null, fail: 0},
    evidence: duplicates.map(({total: _total, first: _first, last: _last, ...row}) => ({timeframe: tf, ...row})),
    evidenceOmitted: total - duplicates.length,
    hint: backfillHint(tf, Number(duplicates[0].first), Number(duplicates[0].last)),
  })
}

/**
 * Each candle against the rollup of the candles one timeframe below: open = first child's open,
 * close = last child's close, high/low = max/min, volume and trade_count = sums, vwap the
 * volume-weighted mean of the children's (each rounded to 1e-8, so within 1e-8 of the parent's).
 * Two differences are not wrong, and warn: a parent built before one of its children changed is
 * stale (its own flow rebuilds it on its next run), and a parent whose children are pending (trades
 * ingested after the child flow's last run, or windows it has not closed yet: the parent's flow read
 * them from the trades first) waits for the child flow's next run.
 */
async function rollupCheck(warehouse: Warehouse, tf: Timeframe, options: ValidateOptions): Promise<CheckResult> {
  const parent = TIMEFRAME_SPECS[tf]
  const childTf = childOf(tf)
  const child = TIMEFRAME_SPECS[childTf]
  const lateSince = (ingestedThrough: number) => `EXISTS (
      SELECT 1 FROM ${TRADES_TABLE} t WHERE t.symbol = d.symbol AND t.exchange = d.exchange AND t.ingestion_timestamp > ${ingestedThrough}
        AND t."timestamp" >= epoch_us(d.window_start) AND t."timestamp" < epoch_us(d.window_start) + $pm::BIGINT)`
  // A flow that never ran has nothing pending: what it did not build is missing.
  const childMark = await readMark(warehouse, childTf)
  const childPending = childMark.closedThrough === null ? 'false' : `(epoch_us(d.window_start) + $pm::BIGINT > ${childMark.closedThrough} OR ${lateSince(childMark.ingestedThrough)})`
  const ownMark = await readMark(warehouse, tf)
  const ownPending = ownMark.closedThrough === null ? 'false' : lateSince(ownMark.ingestedThrough)
  const rows = await warehouse.json<Record<string, string | boolean | null>>(
    `WITH kids AS (
       SELECT symbol, exchange, make_timestamp(epoch_us(window_start) - epoch_us(window_start) % $pm::BIGINT) AS window_start,
              window_start AS child_start, open_price, high_price, low_price, close_price, volume, trade_count, vwap, updated_at
       FROM ${child.table} WHERE window_start >= make_timestamp($from::BIGINT - $from::BIGINT % $pm::BIGINT)
     ), rolled AS (
       SELECT symbol, exchange, window_start,
              arg_min(open_price, child_start) AS open_price, max(high_price) AS high_price, min(low_price) AS low_price,
              arg_max(close_price, child_start) AS close_price, sum(volume) AS volume, sum(trade_count) AS trade_count,
              sum(vwap::DOUBLE * volume::DOUBLE) / nullif(sum(volume::DOUBLE), 0) AS vwap, max(updated_at) AS child_updated
       FROM kids GROUP BY symbol, exchange, window_start
     ), covered AS (
       -- Children older than this were removed by retention (shorter for lower timeframes): not a break.
       SELECT make_timestamp(epoch_us(min(window_start)) - epoch_us(min(window_start)) % $pm::BIGINT) AS since FROM ${child.table}
     ), compared AS (
       SELECT p.symbol, p.exchange, p.window_start, p.updated_at, r.child_updated,
              concat_ws(',',
                CASE WHEN r.symbol IS NULL THEN 'children' END,
                CASE WHEN p.open_price IS DISTINCT FROM r.open_price THEN 'open' END,
                CASE WHEN p.high_price IS DISTINCT FROM r.high_price THEN 'high' END,
                CASE WHEN p.low_price IS DISTINCT FROM r.low_price THEN 'low' END,
                CASE WHEN p.close_price IS DISTINCT FROM r.close_price THEN 'close' END,
                CASE WHEN p.volume IS DISTINCT FROM r.volume THEN 'volume' END,
                CASE WHEN p.trade_count IS DISTINCT FROM r.trade_count THEN 'trade_count' END,
                CASE WHEN r.vwap IS NULL OR abs(r.vwap - p.vwap::DOUBLE) > 1.01e-8 * greatest(1, p.vwap::DOUBLE / 10000) THEN 'vwap' END
              ) AS fields,
              concat_ws(' / ', p.open_price, p.high_price, p.low_price, p.close_price, p.volume, p.trade_count, p.vwap) AS candle,
              CASE WHEN r.symbol IS NULL THEN 'none'
                   ELSE concat_ws(' / ', r.open_price, r.high_price, r.low_price, r.close_price, r.volume, r.trade_count, coalesce(round(r.vwap, 8)::DECIMAL(18,8)::VARCHAR, '-')) END AS children
       FROM ${parent.table} p LEFT JOIN rolled r USING (symbol, exchange, window_start)
       WHERE p.window_start >= make_timestamp($from::BIGINT) AND p.window_start >= (SELECT since FROM covered)
     ), differing AS (
       SELECT x.*, coalesce(child_updated > updated_at, false) AS stale FROM compared x WHERE fields <> ''
     ), classified AS (
       SELECT d.*, NOT d.stale AND ${childPending} AS child_pending, NOT d.stale AND ${ownPending} AS own_pending FROM differing d
     ), flagged AS (
       SELECT *, child_pending OR own_pending AS pending FROM classified
     ), shown AS (
       SELECT symbol, exchange, ${isoSql('window_start')} AS window_start, fields, candle, children, stale, pending,
              count(*) OVER () AS total, count_if(NOT stale AND NOT pending) OVER () AS wrong, count_if(pending) OVER () AS waiting,
              count_if(child_pending) OVER () AS waiting_children, count_if(own_pending AND NOT child_pending) OVER () AS waiting_own,
              min(CASE WHEN NOT stale AND NOT pending THEN epoch_us(window_start) END) OVER () AS first,
              max(CASE WHEN NOT stale AND NOT pending THEN epoch_us(window_start) END) OVER () AS last,
              window_start AS w
       FROM flagged
       ORDER BY stale OR pending, w, symbol, exchange LIMIT $limit::INTEGER
     )
     -- One row at least: the candles compared, with the shown rows beside them.
     SELECT (SELECT count(*) FROM compared) AS compared, shown.* EXCLUDE (w) FROM (SELECT 1) one LEFT JOIN shown ON true
     ORDER BY shown.stale OR shown.pending, shown.w, shown.symbol, shown.exchange`,
    {pm: BigInt(parent.micros), from: BigInt(options.fromMicros), limit: options.limit},
  )
  const thresholds = {warn: 0, fail: 0}
  const checked = Number(rows[0].compared)
  const meaning = `each ${tf} candle equals the rollup of its ${child.name} candles`
  const shown = rows.filter((row) => row.symbol !== null)
  if (shown.length === 0) return checkResult({name: 'rollup', timeframe: tf, status: 'pass', summary: `${plural(checked, 'candle')}: ${meaning}`, value: 0, checked, thresholds})
  const total = Number(shown[0].total)
  const wrong = Number(shown[0].wrong)
  const waiting = Number(shown[0].waiting)
  const [waitingChildren, waitingOwn] = [Number(shown[0].waiting_children), Number(shown[0].waiting_own)]
  const stale = total - wrong - waiting
  const evidence = shown.map(
    ({compared: _c, total: _t, wrong: _w, waiting: _p, waiting_children: _pc, waiting_own: _po, first: _f, last: _l, ...row}) =>
      ({timeframe: tf, ...row, stale: row.stale ? 'yes' : 'no', pending: row.pending ? 'yes' : 'no'}) as Record<string, string>,
  )
  const notes = [
    stale > 0 ? `${plural(stale, 'candle')} built before ${verb(stale, 'its', 'their')} ${child.name} candles changed (late trades): the next ${parent.flow} run rebuilds ${verb(stale, 'it', 'them')}` : '',
    waitingChildren > 0
      ? `${plural(waitingChildren, 'candle')} ${verb(waitingChildren, 'waits', 'wait')} for ${verb(waitingChildren, 'its', 'their')} ${child.name} candles (trades the ${child.flow} has not built yet): its next run builds them`
      : '',
    waitingOwn > 0 ? `${plural(waitingOwn, 'candle')} ${verb(waitingOwn, 'misses', 'miss')} late trades that the next ${parent.flow} run adds` : '',
  ].filter(Boolean)
  const next = waitingChildren > 0 && waitingOwn > 0 ? 'all' : waitingChildren > 0 ? childTf : tf
  const shownRows = {value: wrong, checked, thresholds, evidence, evidenceOmitted: total - shown.length}
  if (wrong === 0) {
    return checkResult({name: 'rollup', timeframe: tf, status: 'warn', summary: notes.join('; '), ...shownRows, value: stale + waiting, hint: `k2ops trigger ${next}`})
  }

  return checkResult({
    name: 'rollup',
    timeframe: tf,
    status: 'fail',
    summary: `${plural(wrong, 'candle')} ${verb(wrong, 'differs', 'differ')} from the rollup of ${verb(wrong, 'its', 'their')} ${child.name} candles (open / high / low / close / volume / trades / vwap)${notes.length > 0 ? `; and ${notes.join('; ')}` : ''}`,
    ...shownRows,
    // Which level is wrong is not known here (the parent, or a child): rebuild every level over that range.
    hint: backfillHint('all', Number(shown[0].first), Number(shown[0].last), TIMEFRAME_SPECS[tf].micros),
  })
}

function childOf(tf: Timeframe): Timeframe {
  const order: Timeframe[] = ['1m', '5m', '30m', '1h', '1d']
  return order[order.indexOf(tf) - 1]
}

/** The backfill that rebuilds the windows of `tf` from the one holding `first` to the one holding `last`, from the trades. */
export function backfillHint(tf: Timeframe | 'all', firstMicros: number, lastMicros: number, windowMicros = TIMEFRAME_SPECS[tf === 'all' ? '1m' : tf].micros): string {
  const from = firstMicros - (((firstMicros % windowMicros) + windowMicros) % windowMicros)
  const to = lastMicros - (((lastMicros % windowMicros) + windowMicros) % windowMicros) + windowMicros
  return `k2ops backfill --timeframe ${tf} --from ${formatMicros(from)} --to ${formatMicros(to)}`
}
