import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {TRADES_TABLE, WATERMARKS_TABLE} from '../../src/pipeline/schema.js'
import {TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {CliResult, k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'
import {corruptedCopy} from '../helpers/warehouse.js'

/** Every command of this file runs at the demo's instant, so "closed", "-7d" and "pending" never move. */
const ENV = {K2OPS_NOW: '2024-08-10T12:34:56Z'}
const MINUTE_MS = 60_000
const ONE_MINUTE = TIMEFRAME_SPECS['1m'].table
const ONE_HOUR = TIMEFRAME_SPECS['1h'].table

interface Check {
  name: string
  timeframe: string | null
  status: 'pass' | 'warn' | 'fail'
  summary: string
  value: number | null
  checked: number | null
  evidence: Array<Record<string, string | number | null>>
  evidenceOmitted: number
  hint: string | null
}

interface Report {
  status: 'pass' | 'warn' | 'fail'
  checkedAt: string
  checks: Check[]
}

/** The candle every test breaks: picked from the demo warehouse, not hard-coded. */
interface Target {
  symbol: string
  exchange: string
  /** Window start, `2024-08-09T00:25:00Z`. */
  start: string
  micros: number
  tradeCount: number
  volume: string
}

/** `2024-08-09T00:25:00Z`, the form of every instant the checks print: evidence and hints alike. */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

function plus(start: string, ms: number): string {
  return iso(Date.parse(start) + ms)
}

/** The start of the `windowMs` window that holds `instant`. */
function windowOf(instant: string, windowMs: number): string {
  return iso(Math.floor(Date.parse(instant) / windowMs) * windowMs)
}

function backfillHint(tf: string, from: string, to: string): string {
  return `k2ops backfill --timeframe ${tf} --from ${from} --to ${to}`
}

function find(report: Report, name: string, timeframe: string | null): Check {
  const check = report.checks.find((candidate) => candidate.name === name && candidate.timeframe === timeframe)
  if (!check) throw new Error(`no ${name} ${timeframe} check in ${JSON.stringify(report.checks.map((c) => `${c.name} ${c.timeframe}`))}`)
  return check
}

/** The checks that did not pass, as `name timeframe status`, in report order. */
function notPassing(report: Report): string[] {
  return report.checks.filter((check) => check.status !== 'pass').map((check) => `${check.name} ${check.timeframe ?? '-'} ${check.status}`)
}

/** A check command on a home, with --json, at the demo's instant. */
async function check(command: 'validate' | 'gaps' | 'reconcile', home: string, ...args: string[]): Promise<CliResult & {report: Report}> {
  const result = await k2ops([command, '--home', home, '--json', ...args], ENV)
  return {...result, report: result.json as Report}
}

/** Runs a check's hint as printed (`k2ops backfill ...`) against `home`, at the same instant. */
async function runHint(hint: string | null, home: string): Promise<CliResult> {
  expect(hint).toMatch(/^k2ops backfill /)
  const [bin, ...args] = (hint as string).split(' ')
  expect(bin).toBe('k2ops')
  return k2ops([...args, '--home', home, '--json'], ENV)
}

describe('validate, gaps and reconcile on the demo warehouse, broken one candle at a time', () => {
  const tempDir = useTempDir('k2ops-checks-')
  let demoHome: string
  let target: Target
  let clean: {validate: CliResult & {report: Report}; gaps: CliResult & {report: Report}; reconcile: CliResult & {report: Report}}

  /** The target candle's key, as SQL. */
  const targetKey = () => `symbol = '${target.symbol}' AND exchange = '${target.exchange}' AND window_start = make_timestamp(${target.micros})`

  /** A copy of the demo warehouse in a fresh home, with `statements` run on it. */
  const corrupted = (...statements: string[]): Promise<string> => corruptedCopy(join(demoHome, 'warehouse.duckdb'), tempDir(), ...statements)

  beforeAll(async () => {
    demoHome = join(mkdtempSync(join(tmpdir(), 'k2ops-checks-demo-')), 'demo')
    const demo = await k2ops(['demo', '--home', demoHome, '--trades', '20000', '--json'], ENV)
    expect(demo.exitCode, demo.stderr).toBe(0)
    const warehouse = await Warehouse.open(join(demoHome, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 5000, readOnly: true})
    try {
      const rows = await warehouse.json<{symbol: string; exchange: string; start: string; micros: string; trade_count: string; volume: string}>(
        `SELECT m.symbol, m.exchange, strftime(m.window_start, '%Y-%m-%dT%H:%M:%SZ') AS start, epoch_us(m.window_start) AS micros, m.trade_count, m.volume
         FROM ${ONE_MINUTE} m JOIN ${TIMEFRAME_SPECS['5m'].table} f
           ON f.symbol = m.symbol AND f.exchange = m.exchange AND epoch_us(f.window_start) = epoch_us(m.window_start) - epoch_us(m.window_start) % 300000000
         WHERE m.symbol = 'BTCUSDT' AND m.exchange = 'BINANCE' AND m.window_date = DATE '2024-08-09' AND m.trade_count > 1
           -- The only 1m candle of its 5m window: any change to it shows in the 5m rollup.
           AND f.trade_count = m.trade_count
           -- The next minute (no trades, no candle) is in the same 5m window.
           AND minute(m.window_start) % 5 < 4
           -- high can drop below open or close and stay at or above vwap (and low).
           AND greatest(m.open_price, m.close_price) > m.vwap
         ORDER BY m.window_start LIMIT 1`,
      )
      expect(rows).toHaveLength(1)
      const [row] = rows
      target = {symbol: row.symbol, exchange: row.exchange, start: row.start, micros: Number(row.micros), tradeCount: Number(row.trade_count), volume: row.volume}
    } finally {
      warehouse.close()
    }

    // Read-only: the three share the demo warehouse.
    const [validate, gaps, reconcile] = await Promise.all([check('validate', demoHome), check('gaps', demoHome), check('reconcile', demoHome)])
    clean = {validate, gaps, reconcile}
  })

  afterAll(() => {
    if (demoHome) rmSync(join(demoHome, '..'), {recursive: true, force: true})
  })

  describe('the clean demo warehouse', () => {
    it('passes validate: 8 checks per timeframe and a rollup check per timeframe above 1m', () => {
      const {exitCode, stderr, report} = clean.validate
      expect(exitCode, stderr).toBe(0)
      expect(report.status).toBe('pass')
      expect(report.checkedAt).toBe('2024-08-10T12:34:56Z')
      expect(report.checks).toHaveLength(5 * 8 + 4)
      expect(notPassing(report)).toEqual([])
      expect(find(report, 'ohlc_bounds', '1m').summary).toMatch(/^[\d,]+ candles: high ≥ open, close/)
      // Each check says how many candles it looked at: every candle of its timeframe in the range, the same for all its checks.
      for (const tf of ['1m', '5m', '30m', '1h', '1d']) {
        const counts = new Set(report.checks.filter((c) => c.timeframe === tf).map((c) => c.checked))
        expect([...counts], tf).toHaveLength(1)
        expect([...counts][0], tf).toBeGreaterThan(0)
      }
    })

    it('passes gaps, the quiet windows of a sparse market counted as such, not as gaps', () => {
      const {exitCode, stderr, report} = clean.gaps
      expect(exitCode, stderr).toBe(0)
      expect(report.status).toBe('pass')
      expect(report.checks.map((c) => `${c.name} ${c.timeframe ?? '-'}`)).toEqual([
        'pipeline_gaps 1m',
        'pipeline_gaps 5m',
        'pipeline_gaps 30m',
        'pipeline_gaps 1h',
        'pipeline_gaps 1d',
        'ingest_gaps -',
      ])
      expect(notPassing(report)).toEqual([])
      expect(find(report, 'pipeline_gaps', '1m').summary).toMatch(/^every window with trades has a candle; [\d,]+ windows without trades \(quiet market\)$/)
    })

    it('passes reconcile for every timeframe', () => {
      const {exitCode, stderr, report} = clean.reconcile
      expect(exitCode, stderr).toBe(0)
      expect(report.status).toBe('pass')
      expect(report.checks.map((c) => `${c.name} ${c.timeframe} ${c.status}`)).toEqual(['1m', '5m', '30m', '1h', '1d'].map((tf) => `reconcile ${tf} pass`))
      for (const c of report.checks) expect(c.summary, c.timeframe ?? '').toBe(`${c.checked!.toLocaleString('en-US')} candles match their trades' count and volume`)
    })
  })

  describe('validate: one 1m candle breaks one invariant', () => {
    interface InvariantCase {
      check: string
      label: string
      /** SET clause applied to the target candle; `insert` duplicates it instead. */
      set?: string
      insert?: true
      /** The 1m checks that fail with it (e.g. a zero-length window is also the wrong length). */
      alsoFailing?: string[]
      /** What the 5m rollup sees of the broken child, when it sees it at all. */
      rollupFields?: string
      /** Seconds the window start was moved by. */
      shiftSeconds?: number
    }

    const repairable: InvariantCase[] = [
      {check: 'ohlc_bounds', label: 'high below open or close', set: 'high_price = greatest(open_price, close_price) - 0.00000001', rollupFields: 'high'},
      {check: 'vwap_bounds', label: 'vwap above high', set: 'vwap = high_price + 1', rollupFields: 'vwap'},
      {check: 'positive_volume', label: 'volume 0', set: 'volume = 0', rollupFields: 'volume,vwap'},
      {check: 'positive_volume', label: 'trade_count 0', set: 'trade_count = 0', rollupFields: 'trade_count'},
      {check: 'window_order', label: 'window_end = window_start', set: 'window_end = window_start', alsoFailing: ['window_length']},
      {check: 'window_length', label: 'a 2-minute window', set: "window_end = window_end + INTERVAL '1 minute'"},
      {check: 'window_alignment', label: 'window moved by 7 s', set: "window_start = window_start + INTERVAL '7 seconds', window_end = window_end + INTERVAL '7 seconds'", shiftSeconds: 7},
      {check: 'window_date', label: 'window_date a day late', set: 'window_date = window_date + 1'},
    ]
    const duplicate: InvariantCase = {check: 'unique_key', label: 'the candle stored twice', insert: true, rollupFields: 'volume,trade_count'}

    /** Breaks the target candle, runs validate and checks what it reports; returns the home and the failing check. */
    async function breakAndValidate(c: InvariantCase): Promise<{home: string; failing: Check}> {
      const home = await corrupted(c.insert ? `INSERT INTO ${ONE_MINUTE} SELECT * FROM ${ONE_MINUTE} WHERE ${targetKey()}` : `UPDATE ${ONE_MINUTE} SET ${c.set} WHERE ${targetKey()}`)
      const {exitCode, stderr, report} = await check('validate', home)
      expect(exitCode, stderr).toBe(1)
      expect(report.status).toBe('fail')
      expect(report.checks).toHaveLength(44)
      // Only the broken invariant (and what it implies) fails; the 5m rollup fails when the child's values changed.
      const expected = [c.check, ...(c.alsoFailing ?? [])].map((name) => `${name} 1m fail`)
      if (c.rollupFields) expected.push('rollup 5m fail')
      expect(notPassing(report)).toEqual(expected)

      // The stored window start (moved, for window_alignment), and the whole 1m window that holds it.
      const start = plus(target.start, (c.shiftSeconds ?? 0) * 1000)
      const window = windowOf(start, MINUTE_MS)
      const failing = find(report, c.check, '1m')
      expect(failing.value).toBe(1)
      expect(failing.evidence).toHaveLength(1)
      expect(failing.evidenceOmitted).toBe(0)
      expect(failing.evidence[0]).toMatchObject({timeframe: '1m', symbol: target.symbol, exchange: target.exchange, window_start: start})
      // The hint rebuilds whole windows: the one that holds the candle, even when its start was moved off the minute.
      expect(failing.hint).toBe(backfillHint('1m', window, plus(window, MINUTE_MS)))

      if (c.rollupFields) {
        const rollup = find(report, 'rollup', '5m')
        const parentStart = windowOf(target.start, 5 * MINUTE_MS)
        expect(rollup.evidence).toHaveLength(1)
        expect(rollup.evidence[0]).toMatchObject({timeframe: '5m', symbol: target.symbol, exchange: target.exchange, window_start: parentStart, fields: c.rollupFields, stale: 'no'})
        // Which level is wrong is not known to the rollup check: its hint rebuilds every level over the parent window.
        expect(rollup.hint).toBe(backfillHint('all', parentStart, plus(parentStart, 5 * MINUTE_MS)))
      }

      return {home, failing}
    }

    it.each(repairable)('$check ($label): exit 1, that check fails naming the candle, the others pass, and its backfill hint repairs it', async (c) => {
      const {home, failing} = await breakAndValidate(c)
      expect(failing.summary).toMatch(/^1 candle of [\d,]+ breaks /)
      // The 1m hint comes first in the report; rebuilding the 1m candle from its trades repairs the 5m rollup too.
      const repair = await runHint(failing.hint, home)
      expect(repair.exitCode, repair.stderr).toBe(0)
      const after = await check('validate', home)
      expect(after.exitCode, after.stdout).toBe(0)
      expect(notPassing(after.report)).toEqual([])
    })

    it('unique_key (the candle stored twice): exit 1, the key with its 2 copies, the 5m rollup counts both', async () => {
      const {failing} = await breakAndValidate(duplicate)
      expect(failing.summary).toBe('1 key with more than one candle')
      expect(failing.evidence[0].copies).toBe(2)
    })

    // A recompute keeps the oldest created_at of all stored copies of a key and writes one candle.
    it('unique_key: the backfill of its hint leaves one candle per key', async () => {
      const {home, failing} = await breakAndValidate(duplicate)
      const repair = await runHint(failing.hint, home)
      expect(repair.exitCode, repair.stderr).toBe(0)
      const after = await check('validate', home, '--timeframe', '1m')
      expect(notPassing(after.report)).toEqual([])
    })

    it('rollup: a 1h candle whose volume differs from its children fails rollup 1h (and 1d above it); reconcile names the 1h as the wrong one', async () => {
      const hour = windowOf(target.start, 60 * MINUTE_MS)
      const day = `${target.start.slice(0, 10)}T00:00:00Z`
      const home = await corrupted(
        `UPDATE ${ONE_HOUR} SET volume = volume + 1 WHERE symbol = '${target.symbol}' AND exchange = '${target.exchange}' AND window_start = make_timestamp(${Date.parse(hour) * 1000})`,
      )
      const [validate, reconcile] = await Promise.all([check('validate', home), check('reconcile', home)])
      expect(validate.exitCode, validate.stderr).toBe(1)
      // The 1d candle is right, but its 1h children no longer add up to it.
      expect(notPassing(validate.report)).toEqual(['rollup 1h fail', 'rollup 1d fail'])
      const rollup = find(validate.report, 'rollup', '1h')
      expect(rollup.value).toBe(1)
      expect(rollup.summary).toMatch(/^1 candle differs from the rollup of its 30m candles/)
      expect(rollup.evidence).toHaveLength(1)
      expect(rollup.evidence[0]).toMatchObject({timeframe: '1h', symbol: target.symbol, exchange: target.exchange, window_start: hour, stale: 'no'})
      expect(String(rollup.evidence[0].fields).split(',')).toContain('volume')
      // The 1h candle or one of its 30m children may be the wrong one: the hint rebuilds every level over that hour.
      expect(rollup.hint).toBe(backfillHint('all', hour, plus(hour, 60 * MINUTE_MS)))
      const above = find(validate.report, 'rollup', '1d')
      expect(above.evidence[0].window_start).toBe(day)
      expect(String(above.evidence[0].fields).split(',')).toContain('volume')

      // Against the trades, only the 1h candle is wrong: that is the one to rebuild.
      expect(reconcile.exitCode, reconcile.stderr).toBe(1)
      expect(notPassing(reconcile.report)).toEqual(['reconcile 1h fail'])
      expect(find(reconcile.report, 'reconcile', '1h').evidence[0].window_start).toBe(hour)

      const repair = await runHint(rollup.hint, home)
      expect(repair.exitCode, repair.stderr).toBe(0)
      const after = await check('validate', home)
      expect(after.exitCode, after.stdout).toBe(0)
      expect(notPassing(after.report)).toEqual([])
    })
  })

  describe('gaps', () => {
    it('a deleted 1m candle whose window has trades is a pipeline gap; the backfill of its hint fills it', async () => {
      const home = await corrupted(`DELETE FROM ${ONE_MINUTE} WHERE ${targetKey()}`)
      const {exitCode, stderr, report} = await check('gaps', home)
      expect(exitCode, stderr).toBe(1)
      expect(report.status).toBe('fail')
      expect(notPassing(report)).toEqual(['pipeline_gaps 1m fail'])
      const gaps = find(report, 'pipeline_gaps', '1m')
      expect(gaps.value).toBe(1)
      // Quiet windows are mentioned only when the check passes.
      expect(gaps.summary).toBe('1 window with trades has no 1m candle')
      expect(gaps.evidence).toEqual([
        {timeframe: '1m', symbol: target.symbol, exchange: target.exchange, window_start: target.start, trades: target.tradeCount, kind: 'pipeline gap'},
      ])
      expect(gaps.hint).toBe(backfillHint('1m', target.start, plus(target.start, MINUTE_MS)))

      const repair = await runHint(gaps.hint, home)
      expect(repair.exitCode, repair.stderr).toBe(0)
      expect(repair.json).toMatchObject({timeframes: ['1m'], from: target.start, to: plus(target.start, MINUTE_MS)})
      const [after, reconcile] = await Promise.all([check('gaps', home), check('reconcile', home)])
      expect(after.exitCode, after.stdout).toBe(0)
      expect(notPassing(after.report)).toEqual([])
      // The rebuilt candle is the one the trades make.
      expect(reconcile.exitCode, reconcile.stdout).toBe(0)
    })

    it('a window without trades has no candle and that is a quiet market, not a gap', async () => {
      const quietBefore = Number(/([\d,]+) windows without trades/.exec(find(clean.gaps.report, 'pipeline_gaps', '1m').summary)?.[1].replaceAll(',', ''))
      // The market did not trade in the target minute: no trades, so no candle.
      const home = await corrupted(
        `DELETE FROM ${TRADES_TABLE} WHERE symbol = '${target.symbol}' AND exchange = '${target.exchange}' AND "timestamp" >= ${target.micros} AND "timestamp" < ${target.micros + MINUTE_MS * 1000}`,
        `DELETE FROM ${ONE_MINUTE} WHERE ${targetKey()}`,
      )
      const {exitCode, stderr, report} = await check('gaps', home)
      expect(exitCode, stderr).toBe(0)
      expect(report.status).toBe('pass')
      expect(notPassing(report)).toEqual([])
      const gaps = find(report, 'pipeline_gaps', '1m')
      expect(gaps.evidence).toEqual([])
      expect(gaps.summary).toBe(`every window with trades has a candle; ${(quietBefore + 1).toLocaleString('en-US')} windows without trades (quiet market)`)
    })

    it('trades ingested after the last 1m run, in a window without a candle, are pending (warn, exit 0), not a gap; reconcile says the same of the candles above', async () => {
      const quiet = plus(target.start, MINUTE_MS)
      const home = await corrupted(
        `INSERT INTO ${TRADES_TABLE}
         SELECT 'late-1', '${target.symbol}', '${target.exchange}', ${Date.parse(quiet) * 1000 + 30_000_000}, 62000, 0.5, 'BUY', NULL,
                (SELECT ingested_through + 1000000 FROM ${WATERMARKS_TABLE} WHERE timeframe = '1m'), DATE '${quiet.slice(0, 10)}', NULL`,
      )
      const [gaps, reconcile] = await Promise.all([check('gaps', home), check('reconcile', home)])
      expect(gaps.exitCode, gaps.stderr).toBe(0)
      expect(gaps.report.status).toBe('warn')
      expect(notPassing(gaps.report)).toEqual(['pipeline_gaps 1m warn'])
      const pending = find(gaps.report, 'pipeline_gaps', '1m')
      expect(pending.value).toBe(0)
      expect(pending.summary).toBe('1 window with trades waits for the next OHLCV-1m-Pipeline run')
      expect(pending.evidence).toEqual([{timeframe: '1m', symbol: target.symbol, exchange: target.exchange, window_start: quiet, trades: 1, kind: 'pending'}])
      // A plain command: the next run (triggered now) builds the candle.
      expect(pending.hint).toBe('k2ops trigger 1m')

      // The 1m window has no candle to compare; the 5m..1d candles that hold it miss one trade, pending too.
      expect(reconcile.exitCode, reconcile.stderr).toBe(0)
      expect(notPassing(reconcile.report)).toEqual(['5m', '30m', '1h', '1d'].map((tf) => `reconcile ${tf} warn`))
      for (const tf of ['5m', '30m', '1h', '1d'] as const) {
        const late = find(reconcile.report, 'reconcile', tf)
        expect(late.evidence, tf).toHaveLength(1)
        expect(late.evidence[0], tf).toMatchObject({symbol: target.symbol, exchange: target.exchange, window_start: windowOf(quiet, TIMEFRAME_SPECS[tf].micros / 1000), count_diff: -1, kind: 'pending'})
        expect(late.hint, tf).toBe(`k2ops trigger ${tf}`)
      }
    })
  })

  describe('validate after late trades', () => {
    it('ingest a late trade, trigger 5m --direct, validate: the 5m rollup waits for its pending 1m candles (warn, exit 0), and passes once the 1m flow ran', async () => {
      const quiet = plus(target.start, MINUTE_MS)
      const fiveStart = windowOf(quiet, 5 * MINUTE_MS)
      // Ingested after every flow's last run: pending for all of them.
      const home = await corrupted(
        `INSERT INTO ${TRADES_TABLE}
         SELECT 'late-5m', '${target.symbol}', '${target.exchange}', ${Date.parse(quiet) * 1000 + 30_000_000}, 62000, 0.5, 'BUY', NULL,
                (SELECT max(ingested_through) + 1000000 FROM ${WATERMARKS_TABLE}), DATE '${quiet.slice(0, 10)}', NULL`,
      )
      const five = await k2ops(['trigger', '5m', '--direct', '--home', home, '--json'], ENV)
      expect(five.exitCode, five.stderr).toBe(0)

      const {exitCode, stderr, report} = await check('validate', home)
      expect(exitCode, stderr).toBe(0)
      const rollup = find(report, 'rollup', '5m')
      expect(rollup.status).toBe('warn')
      expect(rollup.summary).toBe('1 candle waits for its 1m candles (trades the OHLCV-1m-Pipeline has not built yet): its next run builds them')
      expect(rollup.hint).toBe('k2ops trigger 1m')
      expect(rollup.evidence).toEqual([expect.objectContaining({timeframe: '5m', symbol: target.symbol, window_start: fiveStart, stale: 'no', pending: 'yes'})])
      expect(report.checks.filter((c) => c.status === 'fail')).toEqual([])

      const one = await k2ops(['trigger', '1m', '--direct', '--home', home, '--json'], ENV)
      expect(one.exitCode, one.stderr).toBe(0)
      const after = await check('validate', home)
      expect(find(after.report, 'rollup', '5m').status).toBe('pass')
      expect(after.report.checks.filter((c) => c.status === 'fail')).toEqual([])
    })
  })

  describe('reconcile', () => {
    it('a candle whose trade_count was altered: exit 1, the window with both counts', async () => {
      const home = await corrupted(`UPDATE ${ONE_MINUTE} SET trade_count = trade_count + 2 WHERE ${targetKey()}`)
      const {exitCode, stderr, report} = await check('reconcile', home)
      expect(exitCode, stderr).toBe(1)
      expect(report.status).toBe('fail')
      expect(notPassing(report)).toEqual(['reconcile 1m fail'])
      const differs = find(report, 'reconcile', '1m')
      expect(differs.value).toBe(1)
      expect(differs.evidence).toEqual([
        {
          timeframe: '1m',
          symbol: target.symbol,
          exchange: target.exchange,
          window_start: target.start,
          trade_count: target.tradeCount + 2,
          source_count: target.tradeCount,
          count_diff: 2,
          volume: target.volume,
          source_volume: target.volume,
          kind: 'differs',
        },
      ])
      expect(differs.hint).toBe(backfillHint('1m', target.start, plus(target.start, MINUTE_MS)))
    })

    it('a candle whose volume was altered: exit 1, the window with both volumes', async () => {
      const home = await corrupted(`UPDATE ${ONE_MINUTE} SET volume = volume + 1 WHERE ${targetKey()}`)
      const {exitCode, stderr, report} = await check('reconcile', home)
      expect(exitCode, stderr).toBe(1)
      expect(notPassing(report)).toEqual(['reconcile 1m fail'])
      const [row] = find(report, 'reconcile', '1m').evidence
      expect(row).toMatchObject({window_start: target.start, trade_count: target.tradeCount, source_count: target.tradeCount, count_diff: 0, source_volume: target.volume, kind: 'differs'})
      expect(Number(row.volume) - Number(row.source_volume)).toBeCloseTo(1, 8)
    })
  })

  describe('--strict and --limit', () => {
    it('--strict turns a warning (late trades) into exit 1; the JSON status stays warn', async () => {
      const quiet = plus(target.start, MINUTE_MS)
      const home = await corrupted(
        `INSERT INTO ${TRADES_TABLE}
         SELECT 'late-1', '${target.symbol}', '${target.exchange}', ${Date.parse(quiet) * 1000}, 62000, 0.5, 'BUY', NULL,
                (SELECT ingested_through + 1 FROM ${WATERMARKS_TABLE} WHERE timeframe = '1m'), DATE '${quiet.slice(0, 10)}', NULL`,
      )
      const [plain, strict, strictText] = await Promise.all([
        check('gaps', home, '--timeframe', '1m'),
        check('gaps', home, '--timeframe', '1m', '--strict'),
        k2ops(['gaps', '--home', home, '--timeframe', '1m', '--strict'], ENV),
      ])
      expect(plain.exitCode, plain.stderr).toBe(0)
      expect(plain.report.status).toBe('warn')
      expect(strict.exitCode, strict.stderr).toBe(1)
      expect(strict.report.status).toBe('warn')
      expect(strictText.exitCode).toBe(1)
      expect(strictText.stdout).toContain('gaps: fail (--strict: warnings fail) — 0 failed, 1 warned, 1 passed')
    })

    it('--limit 1 keeps the oldest evidence row and counts the others as omitted', async () => {
      const other = `symbol = 'ETHUSDT' AND exchange = 'BINANCE' AND window_start = (SELECT min(window_start) FROM ${ONE_MINUTE} WHERE symbol = 'ETHUSDT' AND exchange = 'BINANCE' AND window_date = DATE '2024-08-10')`
      const home = await corrupted(`UPDATE ${ONE_MINUTE} SET trade_count = trade_count + 1 WHERE (${targetKey()}) OR (${other})`)
      const [json, text] = await Promise.all([
        check('reconcile', home, '--timeframe', '1m', '--limit', '1'),
        k2ops(['reconcile', '--home', home, '--timeframe', '1m', '--limit', '1'], ENV),
      ])
      expect(json.exitCode, json.stderr).toBe(1)
      const differs = find(json.report, 'reconcile', '1m')
      expect(differs.value).toBe(2)
      expect(differs.evidence).toHaveLength(1)
      expect(differs.evidence[0]).toMatchObject({symbol: target.symbol, exchange: target.exchange, window_start: target.start})
      expect(differs.evidenceOmitted).toBe(1)
      // The hint covers both windows, not only the one shown.
      expect(differs.hint).toMatch(new RegExp(`^k2ops backfill --timeframe 1m --from ${target.start} --to 2024-08-10T`))
      expect(text.exitCode).toBe(1)
      expect(text.stdout).toContain('… and 1 more (raise --limit to see them)')
    })
  })

  describe('usage errors exit 2 with one line', () => {
    it('an unknown timeframe, a range that ends before it starts, a missing warehouse', async () => {
      const empty = tempDir()
      const [timeframe, range, noHome, noFile] = await Promise.all([
        k2ops(['validate', '--home', demoHome, '--timeframe', '2m'], ENV),
        k2ops(['gaps', '--home', demoHome, '--from', 'now', '--to', '-1d'], ENV),
        k2ops(['validate', '--home', empty], ENV),
        k2ops(['reconcile', '--home', empty, '--warehouse', join(empty, 'missing.duckdb'), '--json'], ENV),
      ])
      expect(timeframe.exitCode).toBe(2)
      expect(timeframe.stdout).toBe('')
      expect(timeframe.stderr.trim().split('\n')).toEqual(["k2ops: --timeframe: unknown timeframe '2m' (expected one of 1m, 5m, 30m, 1h, 1d or all)"])
      expect(range.exitCode).toBe(2)
      expect(range.stderr.trim().split('\n')).toEqual(['k2ops: --from 2024-08-10T12:34:56Z is not before --to 2024-08-09T12:34:56Z'])
      expect(noHome.exitCode).toBe(2)
      expect(noHome.stderr.trim().split('\n')[0]).toBe(`k2ops: no warehouse at ${join(empty, 'warehouse.duckdb')}`)
      expect(noFile.exitCode).toBe(2)
      expect(noFile.json.error).toMatchObject({code: 'no_warehouse', exit: 2, message: `no warehouse at ${join(empty, 'missing.duckdb')}`})
    })
  })
})
