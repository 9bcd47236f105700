import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {AuditLog} from '../../src/pipeline/audit.js'
import {TIMEFRAMES, Timeframe} from '../../src/pipeline/timeframes.js'
import type {EngineKind} from '../../src/pipeline/engine/engine.js'
import type {StoredCandle} from '../helpers/warehouse.js'
import type {CandleKey, CandleSnapshot, TableName} from '../helpers/candle-snapshot.js'

import {k2ops} from '../helpers/cli.js'
import {alterCount, changedKeys, deleteCandle, instantOf, keyText, pick, snapshot, whereKey} from '../helpers/candle-snapshot.js'
import {managedBackfillTests} from './managed-backfill.tests.js'
import {marketScopeTests} from './market-scope.tests.js'
import {DAY, DEMO_NOW, FULL_NOW, REPAIRED_AT, REPAIR_NOW} from './recover-home.js'
import {STOPPED_AT_INTEGRITY, stepStatuses} from '../helpers/full-recovery-steps.js'

// recover as an operator runs it, the same on every engine (run by test/e2e/recover-duckdb.test.ts
// and test/spark/recover.test.ts): the CLI in real processes on one demo home, whose candles each
// test breaks and recover repairs. Every test leaves the home as clean as it found it, so that one
// home (and on Spark one driver) serves the whole file. The DuckDB-only details (byte-identical
// files, kills, checksums) are in test/e2e/recover.test.ts.


export interface RecoverSuiteEngine {
  name: string
  kind: EngineKind
  /** How long one CLI call may take. */
  cliTimeoutMs: number
  /** Every stored candle of a timeframe, values as exact text (both engines' test helpers give them alike). */
  candles(home: string, tf: Timeframe): Promise<StoredCandle[]>
  /** Runs statements on the home's engine; `table(tf)` names a candle table as its SQL does. */
  execute(home: string, statements: (table: TableName) => string[]): Promise<void>
  /** Damages the home's data the way this engine gets damaged; returns what recover --full must name. */
  damage(home: string): Promise<RegExp>
  /** Stops what the home left running besides the scheduler (a Spark driver). */
  stop(home: string): Promise<void>
}

export function recoverSuite(engine: RecoverSuiteEngine): void {
  describe(`recover on ${engine.name} (real processes)`, () => {
    const home = join(mkdtempSync(join(tmpdir(), `k2ops-recover-${engine.name.toLowerCase()}-`)), 'home')
    const cli = (args: string[], now = REPAIR_NOW) => k2ops([...args, '--home', home], {K2OPS_NOW: now}, {timeoutMs: engine.cliTimeoutMs})
    const audit = () => new AuditLog(join(home, 'state', 'audit.jsonl')).list().reverse()
    let clean: CandleSnapshot
    let deleted: CandleKey
    let altered: CandleKey

    /** A repaired candle holds its clean values; created_at is kept unless it was re-created, updated_at is the repair's. */
    function expectRepaired(after: CandleSnapshot, key: CandleKey, recreated = false): void {
      const before = clean.get(keyText(key))!
      expect(after.get(keyText(key)), keyText(key)).toEqual({...before, created_at: recreated ? REPAIRED_AT : before.created_at, updated_at: REPAIRED_AT})
    }

    beforeAll(async () => {
      // The demo makes its home afresh (on the engine the environment names); the config comes after it.
      const demo = await k2ops(['demo', '--trades', '5000', '--home', home, '--json'], {K2OPS_NOW: DEMO_NOW, K2OPS_ENGINE: engine.kind}, {timeoutMs: engine.cliTimeoutMs * 2})
      expect(demo.exitCode, demo.stderr + demo.stdout).toBe(0)
      writeFileSync(join(home, 'config.json'), JSON.stringify({engine: engine.kind, scheduler: {port: 0}}))
      clean = await snapshot(engine, home)
      expect(new Set([...clean.keys()].map((key) => key.split(' ')[0]))).toEqual(new Set(TIMEFRAMES))
      deleted = pick(clean, '1m', 'BTCUSDT BINANCE', DAY, 100)
      altered = pick(clean, '5m', 'ETHUSDT BINANCE', DAY, 40)
    }, engine.cliTimeoutMs * 2)

    afterAll(async () => {
      // Never leave a scheduler (or its flows) behind, whatever the tests did.
      await k2ops(['scheduler', 'stop', '--home', home], {}, {timeoutMs: engine.cliTimeoutMs})
      await engine.stop(home)
      rmSync(join(home, '..'), {recursive: true, force: true})
    }, engine.cliTimeoutMs * 2)

    it('--date: --dry-run plans the day in every timeframe and changes nothing; the real run does that plan, repairs both candles and records it', async () => {
      await engine.execute(home, (table) => [...deleteCandle(deleted)(table), ...alterCount(altered)(table)])
      const broken = await snapshot(engine, home)
      expect(changedKeys(clean, broken)).toEqual([keyText(deleted), keyText(altered)].sort())

      const dry = await cli(['recover', '--date', DAY, '--dry-run', '--json'])
      expect(dry.exitCode, dry.stderr).toBe(0)
      expect(dry.json).toMatchObject({mode: 'date', dryRun: true, outcome: 'planned', applied: null, auditId: null, before: {status: 'fail'}})
      expect(dry.json.plan.ranges.map((range: {timeframe: string; from: string; to: string}) => `${range.timeframe} ${range.from} ${range.to}`)).toEqual(
        TIMEFRAMES.map((tf) => `${tf} ${DAY}T00:00:00Z 2024-08-09T00:00:00Z`),
      )
      const failing = dry.json.before.failing.map((entry: {check: string}) => entry.check)
      expect(failing).toEqual(expect.arrayContaining(['pipeline_gaps 1m', 'reconcile 5m']))
      expect(changedKeys(broken, await snapshot(engine, home))).toEqual([])
      expect(audit()).toEqual([])

      const real = await cli(['recover', '--date', DAY, '--yes', '--json'])
      expect(real.exitCode, real.stderr).toBe(0)
      expect(real.json).toMatchObject({mode: 'date', dryRun: false, outcome: 'repaired', before: {status: 'fail'}, after: {status: 'pass', rows: 0}})
      // The real run does what the dry run printed: the same ranges, candles and trades.
      expect(real.json.plan).toEqual(dry.json.plan)
      expect(real.json.applied).toMatchObject({pieces: TIMEFRAMES.length})
      const after = await snapshot(engine, home)
      // Every other candle of the day is as it was, all 14 columns.
      expect(changedKeys(clean, after)).toEqual([keyText(deleted), keyText(altered)].sort())
      expectRepaired(after, deleted, true)
      expectRepaired(after, altered)

      const [record] = audit()
      expect(record).toMatchObject({id: real.json.auditId, command: 'recover', at: REPAIR_NOW, outcome: 'completed', details: {mode: 'date', after: {status: 'pass'}}})
      expect(record.details.plan).toEqual(real.json.plan)
      clean = after
    })

    it('--from/--to repairs the windows of that range only, in the timeframes asked for', async () => {
      const hour = pick(clean, '1h', 'SOLUSDT BINANCE', DAY, 5)
      await engine.execute(home, (table) => [`UPDATE ${table('1h')} SET high_price = low_price - 1 WHERE ${whereKey(hour)}`])
      const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')
      const [from, to] = [iso(instantOf(hour)), iso(instantOf(hour) + 3_600_000)]
      const result = await cli(['recover', '--timeframe', '1h', '--from', from, '--to', to, '--yes', '--json'])
      expect(result.exitCode, result.stderr).toBe(0)
      expect(result.json).toMatchObject({mode: 'range', outcome: 'repaired', before: {status: 'fail'}, after: {status: 'pass'}})
      expect(result.json.plan.ranges).toMatchObject([{timeframe: '1h', from, to, windows: 1}])
      const after = await snapshot(engine, home)
      expect(changedKeys(clean, after)).toEqual([keyText(hour)])
      expect(after.get(keyText(hour))).toEqual({...clean.get(keyText(hour)), updated_at: REPAIRED_AT})
      clean = after
    })

    marketScopeTests({engine, home, cli, audit, clean: () => clean, setClean: (next) => (clean = next), expectRepaired})
    managedBackfillTests({engine, home, cli})

    it('--auto finds a deleted and a wrong candle from the checks, plans their windows, and repairs them', async () => {
      const gap = pick(clean, '1m', 'ETHUSDT BINANCE', '2024-08-09', 100)
      const wrong = pick(clean, '5m', 'BTCUSDT BINANCE', '2024-08-09', 30)
      const nothing = await cli(['recover', '--auto', '--dry-run', '--json'])
      expect(nothing.exitCode, nothing.stderr).toBe(0)
      expect(nothing.json).toMatchObject({outcome: 'planned', plan: {ranges: []}, before: {status: 'pass', rows: 0}})

      await engine.execute(home, (table) => [...deleteCandle(gap)(table), ...alterCount(wrong)(table)])
      const dry = await cli(['recover', '--auto', '--dry-run', '--json'])
      expect(dry.exitCode, dry.stderr).toBe(0)
      expect(dry.json.before.failing.map((entry: {check: string}) => entry.check)).toEqual(expect.arrayContaining(['pipeline_gaps 1m', 'reconcile 5m']))
      // Each broken candle's own window is planned (and, for the rollups they break, their parents').
      const planned = (key: CandleKey) =>
        dry.json.plan.ranges.some((range: {timeframe: string; from: string; to: string}) => range.timeframe === key.timeframe && Date.parse(range.from) <= instantOf(key) && instantOf(key) < Date.parse(range.to))
      expect(planned(gap), keyText(gap)).toBe(true)
      expect(planned(wrong), keyText(wrong)).toBe(true)

      const real = await cli(['recover', '--auto', '--yes', '--json'])
      expect(real.exitCode, real.stderr).toBe(0)
      expect(real.json).toMatchObject({mode: 'auto', outcome: 'repaired', after: {status: 'pass', rows: 0}})
      expect(real.json.plan).toEqual(dry.json.plan)
      const after = await snapshot(engine, home)
      expect(changedKeys(clean, after)).toEqual([keyText(gap), keyText(wrong)].sort())
      expect(audit().at(-1)).toMatchObject({id: real.json.auditId, outcome: 'completed', details: {mode: 'auto'}})
      clean = after
    })

    it('exit codes: 2 off a terminal without --yes and for bad flags, changing nothing', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['--date', DAY], /refusing: not a terminal; pass --yes/],
        [['--date', '2024-08-08T10:00:00Z', '--dry-run'], /--date: '2024-08-08T10:00:00Z' is not a day/],
        [['--auto', '--timeframe', '2m', '--dry-run'], /unknown timeframe '2m'/],
        [['--full', '--dry-run'], /cannot also be provided/],
        [['--full', '--symbol', 'BTCUSDT'], /cannot also be provided/],
      ]
      for (const [args, message] of cases) {
        const result = await cli(['recover', ...args])
        expect(result.exitCode, args.join(' ')).toBe(2)
        expect(result.stderr, args.join(' ')).toMatch(message)
      }

      expect(changedKeys(clean, await snapshot(engine, home))).toEqual([])
    })

    it('--full on a healthy home: every step passes, a 1m run completes through the scheduler, health daily does not fail', async () => {
      const {exitCode, stderr, json} = await cli(['recover', '--full', '--json'], FULL_NOW)
      expect(exitCode, stderr + JSON.stringify(json?.steps, null, 1)).toBe(0)
      expect(json.steps.map((step: {name: string; status: string}) => `${step.name} ${step.status}`)).toEqual(
        ['stop-scheduler', 'warehouse-integrity', 'start-scheduler', 'scheduler-api', 'run-1m', 'health-daily'].map((name) => `${name} pass`),
      )
      expect(json.steps[1].result).toMatch(/^\d+ tables, [\d,]+ rows(, [\d,]+ data and delete files)? read back in \d+ ms$/)
      expect(json.run).toMatchObject({flow: 'OHLCV-1m-Pipeline', trigger: 'manual', state: 'Completed'})
      expect(json.health.status).not.toBe('fail')
      expect(audit().at(-1)).toMatchObject({id: json.auditId, command: 'recover', outcome: 'completed', details: {mode: 'full'}})
    })

    it('--full on damaged data: stops at the integrity check naming the damage, exit 1, what to do next; the scheduler is not started again', async () => {
      const named = await engine.damage(home)
      const {exitCode, json} = await cli(['recover', '--full', '--json'], FULL_NOW)
      expect(exitCode).toBe(1)
      expect(stepStatuses(json)).toEqual(STOPPED_AT_INTEGRITY)
      expect(json.steps[1].result).toMatch(named)
      expect(json.next).toMatch(/then run k2ops recover --full again$/)
      expect(json.scheduler).toBeNull()
      expect(audit().at(-1)).toMatchObject({command: 'recover', outcome: 'failed', details: {mode: 'full'}})
    })
  })
}
