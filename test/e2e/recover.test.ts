import {execa} from 'execa'
import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {AuditLog} from '../../src/pipeline/audit.js'
import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {BIN, k2ops} from '../helpers/cli.js'
import {killWhenStderr} from '../helpers/kill-at.js'
import {useTempDir} from '../helpers/temp-home.js'
import {corruptedCopy, isProcessAlive} from '../helpers/warehouse.js'
import {STOPPED_AT_INTEGRITY, stepStatuses} from '../helpers/full-recovery-steps.js'

// recover end to end with real processes: repairs on copies of one demo warehouse, and --full with a real daemon. (slow: ~60 s)

/** The demo's instant. */
const DEMO_NOW = '2024-08-10T12:34:56Z'
/** recover and the checks run a little later than the demo: a rebuilt candle shows it in updated_at, an untouched one does not. */
const ENV = {K2OPS_NOW: '2024-08-10T12:50:00Z'}
const RECOVERED_AT = '2024-08-10 12:50:00'
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const TABLE = {
  '1m': TIMEFRAME_SPECS['1m'].table,
  '5m': TIMEFRAME_SPECS['5m'].table,
  '1h': TIMEFRAME_SPECS['1h'].table,
}

/** A candle the tests break, picked from the demo warehouse. */
interface Target {
  symbol: string
  exchange: string
  /** Window start, ISO-8601 (`2024-08-07T01:00:00Z`). */
  start: string
  micros: number
}

type Snapshot = Map<string, Record<string, string>>

const hasScript = ['/usr/bin/script', '/bin/script'].some((path) => existsSync(path))

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

function plus(start: string, ms: number): string {
  return iso(Date.parse(start) + ms)
}

function windowOf(instant: string, ms: number): string {
  return iso(Math.floor(Date.parse(instant) / ms) * ms)
}

/** A candle's key as the snapshots name it: `1h ETHUSDT BINANCE 2024-08-07 01:00:00`. */
function keyOf(tf: string, target: Target): string {
  return `${tf} ${target.symbol} ${target.exchange} ${target.start.replace('T', ' ').replace('Z', '')}`
}

function where(target: Target): string {
  return `symbol = '${target.symbol}' AND exchange = '${target.exchange}' AND window_start = make_timestamp(${target.micros})`
}

/** Every stored candle of every timeframe, all 14 columns as exact text, by key. */
async function snapshot(home: string): Promise<Snapshot> {
  const warehouse = await Warehouse.open(join(home, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 5000, readOnly: true})
  try {
    const rows: Snapshot = new Map()
    for (const tf of TIMEFRAMES) {
      for (const row of await warehouse.json<Record<string, string>>(`SELECT * FROM ${TIMEFRAME_SPECS[tf].table}`)) {
        rows.set(`${tf} ${row.symbol} ${row.exchange} ${row.window_start}`, row)
      }
    }

    return rows
  } finally {
    warehouse.close()
  }
}

/** Keys whose rows differ between two snapshots (or exist in one only), sorted. */
function differing(a: Snapshot, b: Snapshot): string[] {
  const keys = new Set([...a.keys(), ...b.keys()])
  return [...keys].filter((key) => JSON.stringify(a.get(key)) !== JSON.stringify(b.get(key))).sort()
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

/** The home's audit records, oldest first. */
function auditRecords(home: string): Array<Record<string, any>> {
  return new AuditLog(join(home, 'state', 'audit.jsonl')).list().reverse()
}

/** `[timeframe, from, to]` of each planned range, as recover --json lists them. */
function ranges(json: any): Array<[string, string, string]> {
  return json.plan.ranges.map((range: {timeframe: string; from: string; to: string}) => [range.timeframe, range.from, range.to])
}

/** The checks that failed, `name timeframe`, sorted: none when validate, gaps and reconcile pass. */
async function failingChecks(home: string): Promise<string[]> {
  const reports = await Promise.all((['validate', 'gaps', 'reconcile'] as const).map((command) => k2ops([command, '--home', home, '--json'], ENV)))
  return reports
    .flatMap((report) => report.json.checks)
    .filter((check: {status: string}) => check.status === 'fail')
    .map((check: {name: string; timeframe: string | null}) => `${check.name} ${check.timeframe ?? '-'}`)
    .sort()
}

describe('recover: repairs corrupted candles from the trades', () => {
  const tempDir = useTempDir('k2ops-recover-')
  let demoHome: string
  let clean: Snapshot
  /** (a) a 1h candle that breaks an invariant, (b) a 1m candle deleted, (c) a 5m candle whose trade_count is off by one. */
  let invariant: Target
  let gap: Target
  let count: Target

  /** A copy of the demo warehouse in a fresh home, with `statements` run on it. */
  const corrupted = (...statements: string[]): Promise<string> => corruptedCopy(join(demoHome, 'warehouse.duckdb'), tempDir(), ...statements)

  const breakInvariant = () => `UPDATE ${TABLE['1h']} SET high_price = low_price - 1 WHERE ${where(invariant)}`
  const deleteCandle = () => `DELETE FROM ${TABLE['1m']} WHERE ${where(gap)}`
  const alterCount = () => `UPDATE ${TABLE['5m']} SET trade_count = trade_count + 1 WHERE ${where(count)}`

  /** A repaired candle: the clean values; created_at kept unless it was re-created; updated_at the recovery's instant. */
  function expectRepaired(after: Snapshot, key: string, recreated = false): void {
    const before = clean.get(key)!
    expect(after.get(key), key).toEqual({...before, created_at: recreated ? RECOVERED_AT : before.created_at, updated_at: RECOVERED_AT})
  }

  beforeAll(async () => {
    demoHome = join(mkdtempSync(join(tmpdir(), 'k2ops-recover-demo-')), 'demo')
    const demo = await k2ops(['demo', '--home', demoHome, '--trades', '20000', '--json'], {K2OPS_NOW: DEMO_NOW})
    expect(demo.exitCode, demo.stderr).toBe(0)
    const warehouse = await Warehouse.open(join(demoHome, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 5000, readOnly: true})
    try {
      const pick = async (sql: string): Promise<Target> => {
        const rows = await warehouse.json<{symbol: string; exchange: string; start: string; micros: string}>(sql)
        expect(rows, sql).toHaveLength(1)
        return {symbol: rows[0].symbol, exchange: rows[0].exchange, start: rows[0].start, micros: Number(rows[0].micros)}
      }

      const columns = `c.symbol, c.exchange, strftime(c.window_start, '%Y-%m-%dT%H:%M:%SZ') AS start, epoch_us(c.window_start) AS micros`
      // An hour that holds neither the day's high nor its low: breaking it fails the 1h rollup, not the 1d one.
      invariant = await pick(
        `SELECT ${columns} FROM ${TABLE['1h']} c JOIN ${TIMEFRAME_SPECS['1d'].table} d
           ON d.symbol = c.symbol AND d.exchange = c.exchange AND d.window_start = date_trunc('day', c.window_start)
         WHERE c.symbol = 'ETHUSDT' AND c.exchange = 'BINANCE' AND c.window_date = DATE '2024-08-07'
           AND c.high_price < d.high_price AND c.low_price > d.low_price
         ORDER BY c.window_start LIMIT 1`,
      )
      gap = await pick(`SELECT ${columns} FROM ${TABLE['1m']} c WHERE c.symbol = 'BTCUSDT' AND c.exchange = 'BINANCE' AND c.window_date = DATE '2024-08-08' ORDER BY c.window_start LIMIT 1 OFFSET 100`)
      count = await pick(
        `SELECT ${columns} FROM ${TABLE['5m']} c WHERE c.symbol = 'SOLUSDT' AND c.exchange = 'BINANCE' AND c.window_start < TIMESTAMP '2024-08-10 10:00:00' AND c.window_date = DATE '2024-08-10'
         ORDER BY c.window_start LIMIT 1 OFFSET 40`,
      )
    } finally {
      warehouse.close()
    }

    clean = await snapshot(demoHome)
  })

  afterAll(() => {
    if (demoHome) rmSync(join(demoHome, '..'), {recursive: true, force: true})
  })

  it('the demo warehouse passes validate, gaps and reconcile, and recover --auto finds nothing to repair', async () => {
    expect(await failingChecks(demoHome)).toEqual([])
    const dry = await k2ops(['recover', '--auto', '--dry-run', '--home', demoHome, '--json'], ENV)
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.json).toMatchObject({mode: 'auto', dryRun: true, outcome: 'planned', plan: {ranges: [], totals: {ranges: 0, candles: 0, trades: 0}}, before: {status: 'pass', rows: 0}})
  })

  describe('--auto on a broken invariant (1h), a deleted candle (1m) and an altered count (5m)', () => {
    /**
     * The windows to rebuild: each broken candle's window, and for each rollup it breaks, that parent
     * window in every timeframe (a 1h candle breaks the 1h rollup; a missing 1m candle the 5m one; a 5m
     * count the 5m and 30m ones). Adjacent windows make one range; 2024-08-10 has no closed 1d window.
     */
    function expectedRanges(): Array<[string, string, string]> {
      const hour = invariant.start
      const five = windowOf(gap.start, 5 * MINUTE)
      const thirty = windowOf(count.start, 30 * MINUTE)
      return [
        ['1m', hour, plus(hour, HOUR)],
        ['1m', five, plus(five, 5 * MINUTE)],
        ['1m', thirty, plus(thirty, 30 * MINUTE)],
        ['5m', hour, plus(hour, HOUR)],
        ['5m', five, plus(five, 5 * MINUTE)],
        ['5m', thirty, plus(thirty, 30 * MINUTE)],
        ['30m', hour, plus(hour, HOUR)],
        ['30m', windowOf(five, 30 * MINUTE), plus(windowOf(five, 30 * MINUTE), 30 * MINUTE)],
        ['30m', thirty, plus(thirty, 30 * MINUTE)],
        ['1h', hour, plus(hour, HOUR)],
        ['1h', windowOf(five, HOUR), plus(windowOf(five, HOUR), HOUR)],
        ['1h', windowOf(thirty, HOUR), plus(windowOf(thirty, HOUR), HOUR)],
        ['1d', '2024-08-07T00:00:00Z', '2024-08-09T00:00:00Z'],
      ]
    }

    const offending = ['ohlc_bounds 1h', 'pipeline_gaps 1m', 'reconcile 5m', 'rollup 1h', 'rollup 30m', 'rollup 5m', 'vwap_bounds 1h']

    it('--dry-run --json lists exactly those ranges, with the candles and trades they touch, and changes nothing', async () => {
      const home = await corrupted(breakInvariant(), deleteCandle(), alterCount())
      const file = join(home, 'warehouse.duckdb')
      const [hash, rows] = [sha256(file), await snapshot(home)]
      const {exitCode, stderr, json} = await k2ops(['recover', '--auto', '--dry-run', '--home', home, '--json'], ENV)
      expect(exitCode, stderr).toBe(0)
      expect(json).toMatchObject({mode: 'auto', dryRun: true, outcome: 'planned', after: null, applied: null, auditId: null, checked: {from: '2024-08-03T12:50:00Z', to: '2024-08-10T12:50:00Z'}})
      expect(ranges(json)).toEqual(expectedRanges())
      expect(json.before.status).toBe('fail')
      expect(json.before.failing.map((f: {check: string}) => f.check).sort()).toEqual(offending)
      // The deleted candle leaves its 5m parent without one child; the altered count breaks its own 5m rollup.
      expect(json.before.failing.find((f: {check: string}) => f.check === 'rollup 5m').rows).toBe(2)

      const day = json.plan.ranges.find((r: {timeframe: string}) => r.timeframe === '1d')
      // Six markets, two days.
      expect(day).toMatchObject({windows: 2, candles: 12})
      expect(day.reasons.sort()).toEqual(['rollup 1h', 'rollup 5m'])
      const hourRange = json.plan.ranges.find((r: {timeframe: string; from: string}) => r.timeframe === '1h' && r.from === invariant.start)
      expect(hourRange.reasons.sort()).toEqual(['ohlc_bounds 1h', 'rollup 1h', 'vwap_bounds 1h'])
      for (const range of json.plan.ranges) {
        expect(range.trades, JSON.stringify(range)).toBeGreaterThan(0)
        expect(range.candles, JSON.stringify(range)).toBeGreaterThan(0)
      }

      const sum = (field: 'candles' | 'trades' | 'windows') => json.plan.ranges.reduce((total: number, r: Record<string, number>) => total + r[field], 0)
      expect(json.plan.totals).toEqual({ranges: 13, windows: sum('windows'), candles: sum('candles'), trades: sum('trades')})

      // Nothing changed: the same file, byte for byte, and no audit record.
      expect(sha256(file)).toBe(hash)
      expect(differing(rows, await snapshot(home))).toEqual([])
      expect(auditRecords(home)).toEqual([])
    })

    it('the plan for people: one line per range, the totals, and that nothing changed', async () => {
      const home = await corrupted(deleteCandle())
      const {exitCode, stdout, stderr} = await k2ops(['recover', '--auto', '--dry-run', '--home', home], ENV)
      expect(exitCode, stderr).toBe(0)
      const five = windowOf(gap.start, 5 * MINUTE)
      expect(stdout).toContain('Offending rows: rollup 5m (1), pipeline_gaps 1m (1)')
      expect(stdout).toMatch(new RegExp(`^1m +${five} +${plus(five, 5 * MINUTE)} +5 +\\d+ +\\d+ +rollup 5m, pipeline_gaps 1m$`, 'm'))
      expect(stdout).toMatch(/^Plan: 5 ranges; [\d,]+ candles to delete and rebuild; [\d,]+ trades to reprocess\.$/m)
      expect(stdout).toContain('Dry run: nothing changed.')
    })

    it('--yes repairs them: exit 0, validate/gaps/reconcile pass, every other candle byte-identical, an audit record', async () => {
      const home = await corrupted(breakInvariant(), deleteCandle(), alterCount())
      const broken = await snapshot(home)
      const {exitCode, stderr, json} = await k2ops(['recover', '--auto', '--yes', '--home', home, '--json'], ENV)
      expect(exitCode, stderr).toBe(0)
      expect(json).toMatchObject({mode: 'auto', dryRun: false, outcome: 'repaired', before: {status: 'fail'}, after: {status: 'pass', rows: 0, failing: []}})
      expect(ranges(json)).toEqual(expectedRanges())
      // The 1d range spans two days: one transaction each.
      expect(json.applied.pieces).toBe(14)
      expect(await failingChecks(home)).toEqual([])

      const after = await snapshot(home)
      const keys = [keyOf('1h', invariant), keyOf('1m', gap), keyOf('5m', count)].sort()
      // Only the three broken candles changed: every other one of ~17,000 is as it was, all 14 columns.
      expect(differing(broken, after)).toEqual(keys)
      expect(differing(clean, after)).toEqual(keys)
      expectRepaired(after, keyOf('1h', invariant))
      expectRepaired(after, keyOf('1m', gap), true)
      expectRepaired(after, keyOf('5m', count))

      const [record] = auditRecords(home)
      expect(record).toMatchObject({id: json.auditId, command: 'recover', at: ENV.K2OPS_NOW, outcome: 'completed'})
      expect(record.details).toMatchObject({mode: 'auto', before: {status: 'fail'}, after: {status: 'pass'}, applied: {pieces: 14}})
      expect(record.details.plan.ranges).toHaveLength(13)

      // Run again: nothing left to repair.
      const again = await k2ops(['recover', '--auto', '--yes', '--home', home, '--json'], ENV)
      expect(again.exitCode, again.stderr).toBe(0)
      expect(again.json).toMatchObject({outcome: 'nothing to repair', plan: {ranges: []}})
      expect(differing(after, await snapshot(home))).toEqual([])
    })

    it('off a terminal without --yes: refuses with exit 2 and changes nothing', async () => {
      const home = await corrupted(deleteCandle())
      const hash = sha256(join(home, 'warehouse.duckdb'))
      const human = await k2ops(['recover', '--auto', '--home', home], ENV)
      expect(human.exitCode).toBe(2)
      expect(human.stderr).toContain('refusing: not a terminal; pass --yes')
      const json = await k2ops(['recover', '--date', '2024-08-08', '--home', home, '--json'], ENV)
      expect(json.exitCode).toBe(2)
      expect(json.json.error).toMatchObject({code: 'confirmation_required', exit: 2})
      expect(sha256(join(home, 'warehouse.duckdb'))).toBe(hash)
      expect(auditRecords(home)).toEqual([])
    })

    // `script` (util-linux) gives the CLI a pseudo-terminal.
    it.skipIf(!hasScript)('on a terminal it asks: "n" changes nothing (exit 1), "y" repairs', async () => {
      const home = await corrupted(deleteCandle())
      const hash = sha256(join(home, 'warehouse.duckdb'))
      /** The CLI under `script`, whose pseudo-terminal is its stdin, stdout and stderr. */
      const onTerminal = (answer: string) =>
        execa('script', ['-qec', `node ${BIN} recover --auto --home ${home}`, '/dev/null'], {input: answer, env: {...ENV, NO_COLOR: '1'}, reject: false, timeout: 60_000})
      const no = await onTerminal('n\n')
      expect(no.stdout).toMatch(/Delete and rebuild [\d,]+ candles in 5 ranges from [\d,]+ trades\? \[y\/N\]/)
      expect(no.stdout).toContain('cancelled: nothing changed')
      expect(no.exitCode).toBe(1)
      expect(sha256(join(home, 'warehouse.duckdb'))).toBe(hash)

      const yes = await onTerminal('y\n')
      expect(yes.exitCode, yes.stdout).toBe(0)
      expect(yes.stdout).toMatch(/recover: repaired 5 ranges/)
      expect(await failingChecks(home)).toEqual([])
    })
  })

  describe('--date and --from/--to repair the windows asked for, and only those', () => {
    it('--date D --timeframe 1m rebuilds that UTC day of 1m candles; a broken 1h candle of another day stays broken', async () => {
      const home = await corrupted(breakInvariant(), deleteCandle())
      const {exitCode, stderr, json} = await k2ops(['recover', '--timeframe', '1m', '--date', '2024-08-08', '--yes', '--home', home, '--json'], ENV)
      expect(exitCode, stderr).toBe(0)
      expect(json.mode).toBe('date')
      expect(ranges(json)).toEqual([['1m', '2024-08-08T00:00:00Z', '2024-08-09T00:00:00Z']])
      expect(json.plan.ranges[0]).toMatchObject({windows: 1440, reasons: ['requested']})
      // Before: the rows whose windows lie in the range (the 5m rollup names the 1m windows below it).
      expect(json.before.failing.map((f: {check: string}) => f.check).sort()).toEqual(['pipeline_gaps 1m', 'rollup 5m'])
      expect(json.after).toMatchObject({status: 'pass', rows: 0})
      expect(json.outcome).toBe('repaired')

      expect(await failingChecks(home)).toEqual(['ohlc_bounds 1h', 'rollup 1h', 'vwap_bounds 1h'])
      const after = await snapshot(home)
      expect(differing(clean, after)).toEqual([keyOf('1h', invariant), keyOf('1m', gap)].sort())
      expectRepaired(after, keyOf('1m', gap), true)
    })

    it('--from/--to is aligned outwards per timeframe: 20 minutes of 1h and 1d are that hour and that day', async () => {
      const home = await corrupted(breakInvariant())
      const from = plus(invariant.start, 20 * MINUTE)
      const to = plus(invariant.start, 40 * MINUTE)
      const {exitCode, stderr, json} = await k2ops(['recover', '--timeframe', '1h,1d', '--from', from, '--to', to, '--yes', '--home', home, '--json'], ENV)
      expect(exitCode, stderr).toBe(0)
      expect(json.mode).toBe('range')
      const day = windowOf(invariant.start, DAY)
      expect(ranges(json)).toEqual([
        ['1h', invariant.start, plus(invariant.start, HOUR)],
        ['1d', day, plus(day, DAY)],
      ])
      expect(json.before.failing.map((f: {check: string}) => f.check).sort()).toEqual(['ohlc_bounds 1h', 'rollup 1h', 'vwap_bounds 1h'])
      expect(json.after.status).toBe('pass')
      expect(await failingChecks(home)).toEqual([])
      const after = await snapshot(home)
      expect(differing(clean, after)).toEqual([keyOf('1h', invariant)])
      expectRepaired(after, keyOf('1h', invariant))
    })

    it('flag rules: one mode, --from with --to, --lookback-days only with --auto, a day for --date', async () => {
      const home = await corrupted()
      const cases: Array<[string[], RegExp]> = [
        [['--auto', '--date', '2024-08-08'], /cannot also be provided/],
        [['--from', '2024-08-08'], /must be provided when using --from/],
        [['--date', '2024-08-08', '--lookback-days', '2'], /must be provided when using --lookback-days/],
        [['--date', '2024-08-08T10:00:00Z', '--dry-run'], /--date: '2024-08-08T10:00:00Z' is not a day/],
        [['--auto', '--timeframe', '2m', '--dry-run'], /unknown timeframe '2m'/],
        [[], /Exactly one of the following must be provided: --auto, --date, --from, --full/],
      ]
      for (const [args, message] of cases) {
        const result = await k2ops(['recover', ...args, '--home', home], ENV)
        expect(result.exitCode, args.join(' ')).toBe(2)
        expect(result.stderr, args.join(' ')).toMatch(message)
      }
    })
  })

  it('killed mid-recover (kill -9), every range is old or repaired, and the same command run again ends clean', async () => {
    // Many broken 1m candles, each in a 5m window of its own: well over a hundred ranges, one transaction each.
    const home = await corrupted(
      `UPDATE ${TABLE['1m']} SET trade_count = trade_count + 1
       WHERE (symbol, exchange, window_start) IN (
         SELECT symbol, exchange, window_start FROM ${TABLE['1m']}
         WHERE symbol = 'BTCUSDT' AND exchange = 'BINANCE' AND window_start < TIMESTAMP '2024-08-10 10:00:00'
         QUALIFY row_number() OVER (ORDER BY window_start) % 40 = 0)`,
    )
    const broken = await snapshot(home)
    const brokenKeys = differing(clean, broken)
    expect(brokenKeys.length).toBeGreaterThan(30)
    const planned = await k2ops(['recover', '--auto', '--dry-run', '--home', home, '--json'], ENV)
    const original = ranges(planned.json)
    expect(original.length).toBeGreaterThan(100)

    // The first range is committed: kill it now, in the middle of the others.
    const {signal, stderr} = await killWhenStderr(['recover', '--auto', '--yes', '--home', home], ENV, /\(1\/\d+\)/)
    expect(signal, stderr).toBe('SIGKILL')
    // Killed in the middle: the last range was never reported done.
    expect(stderr).not.toMatch(/\((\d+)\/\1\)/)
    // Its intent is on record (with the plan), and shows as interrupted: the process is gone.
    const [killedRecord] = auditRecords(home)
    expect(killedRecord).toMatchObject({command: 'recover', outcome: 'interrupted', details: {mode: 'auto'}})
    expect(killedRecord.details.plan.ranges).toHaveLength(original.length)

    // What is left to do: a part of the first plan, never anything new.
    const left = await k2ops(['recover', '--auto', '--dry-run', '--home', home, '--json'], ENV)
    expect(left.exitCode, left.stderr).toBe(0)
    const remaining = ranges(left.json)
    expect(remaining.length).toBeGreaterThan(0)
    expect(remaining.length).toBeLessThan(original.length)
    const windows = (list: Array<[string, string, string]>) =>
      list.flatMap(([tf, from, to]) => {
        const size = TIMEFRAME_SPECS[tf as keyof typeof TIMEFRAME_SPECS].micros / 1000
        const starts: string[] = []
        for (let start = Date.parse(from); start < Date.parse(to); start += size) starts.push(`${tf} ${iso(start)}`)
        return starts
      })
    const before = new Set(windows(original))
    for (const window of windows(remaining)) expect(before.has(window), window).toBe(true)

    // What the warehouse shows the killed run did: the candles it rebuilt carry its instant.
    expect(left.json.interrupted).toEqual([{id: killedRecord.id, at: ENV.K2OPS_NOW, by: expect.any(String), found: {candlesRebuilt: expect.any(Number), rangesTouched: expect.any(Number), ranges: original.length}}])
    expect(left.json.interrupted[0].found.rangesTouched).toBeGreaterThan(0)
    expect(left.json.interrupted[0].found.rangesTouched).toBeLessThan(original.length)

    const rerun = await k2ops(['recover', '--auto', '--yes', '--home', home, '--json'], ENV)
    expect(rerun.exitCode, rerun.stderr).toBe(0)
    expect(rerun.json).toMatchObject({outcome: 'repaired', after: {status: 'pass'}})
    expect(rerun.json.interrupted.map((run: {id: string}) => run.id)).toEqual([killedRecord.id])
    expect(await failingChecks(home)).toEqual([])
    // The end state is the clean warehouse: the broken candles rebuilt, every other candle as it was.
    const after = await snapshot(home)
    expect(differing(clean, after)).toEqual(brokenKeys)
    for (const key of brokenKeys) expect({...after.get(key), updated_at: ''}).toEqual({...clean.get(key), updated_at: ''})
    // The killed run's record now holds what was found as its outcome; the rerun has its own.
    expect(auditRecords(home).map((record) => [record.id, record.outcome])).toEqual([
      [killedRecord.id, 'interrupted'],
      [rerun.json.auditId, 'completed'],
    ])
    expect(auditRecords(home)[0].details.found).toEqual(left.json.interrupted[0].found)
  }, 120_000)

  it('killed after the repair, before its outcome (test hook): the next run shows it interrupted with the candles it rebuilt', async () => {
    const home = await corrupted(deleteCandle(), alterCount())
    const killed = await killWhenStderr(['recover', '--auto', '--yes', '--home', home], {...ENV, K2OPS_TEST_PAUSE_AT: 'after-repair'}, 'k2ops test hook: paused at after-repair')
    expect(killed.signal, killed.stderr).toBe('SIGKILL')
    const [record] = auditRecords(home)
    expect(record).toMatchObject({command: 'recover', at: ENV.K2OPS_NOW, outcome: 'interrupted', details: {mode: 'auto', before: {status: 'fail'}}})

    const next = await k2ops(['recover', '--auto', '--yes', '--home', home], ENV)
    expect(next.exitCode, next.stderr).toBe(0)
    // The deleted 1m candle and the altered 5m one: both rebuilt by the killed run.
    expect(next.stderr).toContain(`warning: the recover run ${record.id} of ${ENV.K2OPS_NOW} (`)
    expect(next.stderr).toMatch(/was interrupted before it recorded its outcome; the warehouse shows 2 candles rebuilt by it in 2 of its \d+ planned ranges/)
    expect(next.stdout).toContain('Nothing to repair.')
    expect(auditRecords(home).map((r) => r.outcome)).toEqual(['interrupted', 'completed'])
    expect(auditRecords(home)[0].details.found).toMatchObject({candlesRebuilt: 2, rangesTouched: 2})
  })
})

describe('recover --full (real processes)', () => {
  const tempDir = useTempDir('k2ops-recover-full-')
  const homes: string[] = []

  const alive = isProcessAlive
  function schedulerPid(home: string): number | undefined {
    const file = join(home, 'state', 'scheduler.json')
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).pid : undefined
  }

  afterEach(() => {
    // Never leave a daemon behind: kill its process group (its flow runs too).
    for (const home of homes.splice(0)) {
      const pid = schedulerPid(home)
      if (pid === undefined) continue
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL')
        } catch {
          // gone
        }
      }
    }
  })

  const STEPS = ['stop-scheduler', 'warehouse-integrity', 'start-scheduler', 'scheduler-api', 'run-1m', 'health-daily']

  it('from a scheduler killed with SIGKILL (stale pid file) to a completed 1m run and a passing health daily; again with the scheduler running', async () => {
    // Fresh trades at the real clock, so that health daily judges a live pipeline.
    const home = join(tempDir(), 'home')
    homes.push(home)
    const demo = await k2ops(['demo', '--home', home, '--trades', '2000', '--json'])
    expect(demo.exitCode, demo.stderr).toBe(0)
    writeFileSync(join(home, 'config.json'), JSON.stringify({scheduler: {port: 0}}))
    const first = await k2ops(['scheduler', 'start', '--home', home, '--json'])
    expect(first.exitCode, first.stderr).toBe(0)
    process.kill(first.json.pid, 'SIGKILL')
    for (let i = 0; i < 100 && alive(first.json.pid); i++) await sleep(50)
    expect(schedulerPid(home)).toBe(first.json.pid)

    const {exitCode, stderr, json} = await k2ops(['recover', '--full', '--home', home, '--json'], {}, {timeoutMs: 180_000})
    expect(exitCode, stderr + JSON.stringify(json?.steps, null, 1)).toBe(0)
    expect(json.status).toBe('pass')
    expect(json.steps.map((step: {name: string}) => step.name)).toEqual(STEPS)
    for (const step of json.steps) {
      expect(step.status, step.name).toBe('pass')
      expect(step.result, step.name).toEqual(expect.any(String))
      expect(step.durationMs, step.name).toBeGreaterThanOrEqual(0)
    }

    expect(json.steps[0].result).toBe(`not running; removed the pid file left by pid ${first.json.pid}`)
    expect(json.steps[1].result).toMatch(/^7 tables, [\d,]+ rows read back in \d+ ms$/)
    expect(json.steps[3].result).toMatch(/; 6 deployments, paused: maintain-scheduled$/)
    const {pid, port} = json.scheduler
    expect(pid).not.toBe(first.json.pid)
    expect(alive(pid)).toBe(true)
    expect(json.run).toMatchObject({flow: 'OHLCV-1m-Pipeline', deployment: 'ohlcv-1m-scheduled', trigger: 'manual', state: 'Completed', pid})
    expect(json.health.status).not.toBe('fail')
    expect(json.health.checks.find((check: {name: string}) => check.name === 'scheduler_api')).toMatchObject({status: 'pass'})

    const runs = await k2ops(['runs', '--home', home, '--json'])
    expect(runs.json.runs.find((run: {id: string}) => run.id === json.run.id)).toMatchObject({state: 'Completed'})
    const status = await k2ops(['scheduler', 'status', '--home', home, '--json'])
    expect(status.exitCode).toBe(0)
    expect(status.json).toMatchObject({state: 'running', pid, port})
    expect(auditRecords(home).at(-1)).toMatchObject({command: 'recover', outcome: 'completed', details: {mode: 'full', scheduler: {pid, port}, run: json.run.id}})

    // With the scheduler running, it is stopped gracefully and started again; people get the task list and the report.
    const again = await k2ops(['recover', '--full', '--home', home], {}, {timeoutMs: 180_000})
    expect(again.exitCode, again.stderr + again.stdout).toBe(0)
    expect(again.stderr).toContain(`✔ Stop the scheduler: stopped pid ${pid} (gracefully)`)
    expect(again.stderr).toMatch(/✔ Run OHLCV-1m-Pipeline through the scheduler: run \S+ Completed/)
    expect(again.stdout).toMatch(/^health daily: (pass|warn) — 0 failed/m)
    expect(again.stdout).toMatch(/^recover --full: the pipeline is back: scheduler pid \d+, OHLCV-1m-Pipeline run Completed/m)
    expect(alive(pid)).toBe(false)
    expect(alive(schedulerPid(home)!)).toBe(true)
  }, 180_000)

  it('a warehouse that is not a DuckDB file: stops at the integrity step, exit 1, what to do next; the scheduler is not started', async () => {
    const home = join(tempDir(), 'home')
    homes.push(home)
    expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
    writeFileSync(join(home, 'config.json'), JSON.stringify({scheduler: {port: 0}}))
    writeFileSync(join(home, 'warehouse.duckdb'), 'this is not a database\n'.repeat(1000))

    const {exitCode, json} = await k2ops(['recover', '--full', '--home', home, '--json'])
    expect(exitCode).toBe(1)
    expect(json.status).toBe('fail')
    expect(stepStatuses(json)).toEqual(STOPPED_AT_INTEGRITY)
    expect(json.steps[0].result).toBe('not running')
    expect(json.steps[1].result).toContain('cannot open the warehouse')
    expect(json.next).toMatch(/^restore .*warehouse\.duckdb from a backup/)
    expect(json.steps[1].next).toBe(json.next)
    expect(schedulerPid(home)).toBeUndefined()
    expect(auditRecords(home).at(-1)).toMatchObject({command: 'recover', outcome: 'failed', details: {mode: 'full'}})

    const human = await k2ops(['recover', '--full', '--home', home])
    expect(human.exitCode).toBe(1)
    expect(human.stderr).toMatch(/✖ .*cannot open the warehouse/)
    expect(human.stdout).toContain('recover --full stopped at "Check the warehouse')
    expect(human.stdout).toMatch(/^next: restore /m)
  })

  it('a damaged data block that everyday queries never read: the integrity step reads every block and stops on its checksum', async () => {
    const home = join(tempDir(), 'home')
    homes.push(home)
    expect((await k2ops(['demo', '--home', home, '--trades', '2000', '--json'])).exitCode).toBe(0)
    const path = join(home, 'warehouse.duckdb')
    const warehouse = await Warehouse.open(path, {operation: 'test', lockTimeoutMs: 5000, readOnly: true})
    let offset: number
    try {
      // A block of the trades table: after the file's three 4 KiB headers, block N starts at N × block size.
      const [{block}] = await warehouse.json<{block: string}>(`SELECT max(block_id) AS block FROM pragma_storage_info('market_data.gold_crypto_trades') WHERE block_id >= 0`)
      const [{size}] = await warehouse.json<{size: string}>('SELECT block_size AS size FROM pragma_database_size()')
      offset = 3 * 4096 + Number(block) * Number(size) + 1000
      expect((await warehouse.json<{n: string}>('SELECT count(*) AS n FROM market_data.gold_crypto_trades'))[0].n).not.toBe('0')
    } finally {
      warehouse.close()
    }

    const bytes = readFileSync(path)
    bytes.fill(0xab, offset, offset + 64)
    writeFileSync(path, bytes)
    // The damage goes unnoticed by a query that reads no column of the damaged block.
    expect((await k2ops(['candles', 'BTCUSDT', '--exchange', 'BINANCE', '--home', home, '--json'])).exitCode).toBe(0)

    const {exitCode, json} = await k2ops(['recover', '--full', '--home', home, '--json'])
    expect(exitCode).toBe(1)
    expect(json.steps.slice(0, 3).map((step: {name: string; status: string}) => `${step.name} ${step.status}`)).toEqual(['stop-scheduler pass', 'warehouse-integrity fail', 'start-scheduler skipped'])
    expect(json.steps[1].result).toMatch(/Corrupt database file: computed checksum \d+ does not match stored checksum/)
    expect(json.next).toMatch(/^restore /)
  })

  it('--full takes no repair flags (exit 2)', async () => {
    const home = tempDir()
    for (const args of [['--timeframe', '1m'], ['--auto'], ['--date', '2024-08-08'], ['--dry-run']]) {
      const result = await k2ops(['recover', '--full', ...args, '--home', home])
      expect(result.exitCode, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).toMatch(/--full\S* cannot also be provided|cannot also be provided when using --full/)
    }
  })
})
