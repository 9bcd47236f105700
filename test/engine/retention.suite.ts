import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import type {Engine, EngineKind} from '../../src/pipeline/engine/engine.js'
import type {CliResult} from '../helpers/cli.js'
import type {RetentionSeed, SeedCandle} from '../helpers/retention-fixture.js'
import type {TestTrade} from '../helpers/warehouse.js'

import {applyRetention, planRetention} from '../../src/pipeline/retention.js'
import {TRADES_TABLE} from '../../src/pipeline/schema.js'
import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {k2ops} from '../helpers/cli.js'
import {CUTOFFS, NOW, TODAY, allDoomed, auditRecords, doomedDays, edgeSeed, shiftDate, tradeDays, without} from '../helpers/retention-fixture.js'

/** What the retention suite needs of an engine: homes for the CLI, and direct access to their tables. */
export interface RetentionEngine {
  name: string
  kind: EngineKind
  /** A home whose target is empty, with no audit trail and no config file. */
  newHome(): Promise<string>
  /** The environment the CLI runs with on this engine. */
  env: Record<string, string>
  /** An engine on the home's target (read-write: no CLI may run meanwhile). */
  open(home: string): Promise<Engine>
  /** Stores candles and trades straight into the tables, in as few calls as the engine allows. */
  insertRows(engine: Engine, rows: Partial<RetentionSeed>): Promise<void>
  /** Rows per table and date: `{'1m 2025-11-30': 3, 'trades 2026-01-28': 40, ...}`. */
  rowsPerDay(engine: Engine): Promise<Record<string, number>>
  /** Per CLI run. */
  timeoutMs: number
  /** The engine's own assertions on the first test's runs: its plan notes, and how it freed the space. */
  checkDryRun?(json: CliResult, human: CliResult): void
  checkRealRun?(home: string, real: CliResult): Promise<void>
}

/** Retention's rules, through the CLI as a user runs it, on the engine `factory` gives. */
export function retentionSuite(factory: RetentionEngine): void {
  async function withEngine<T>(home: string, work: (engine: Engine) => Promise<T>): Promise<T> {
    const engine = await factory.open(home)
    try {
      return await work(engine)
    } finally {
      await engine.close()
    }
  }

  const seed = (home: string, rows: Partial<RetentionSeed>) => withEngine(home, (engine) => factory.insertRows(engine, rows))
  const countsOf = (home: string) => withEngine(home, (engine) => factory.rowsPerDay(engine))
  const cli = (home: string, args: string[]) => k2ops([...args, '--home', home], {K2OPS_NOW: NOW, ...factory.env}, {timeoutMs: factory.timeoutMs})
  const run = (home: string, args: string[]) => cli(home, ['retention', ...args])
  const perTable = <T>(value: (tf: (typeof TIMEFRAMES)[number]) => T) => Object.fromEntries(TIMEFRAMES.map((tf) => [TIMEFRAME_SPECS[tf].table, value(tf)]))

  describe(`k2ops retention (${factory.name})`, () => {
    it('plans exactly the rows dated before each cutoff, per table and day, deletes exactly them, records both, and a second run is a no-op', async () => {
      const home = await factory.newHome()
      await seed(home, edgeSeed())
      const before = await countsOf(home)
      const doomed = allDoomed()
      expect(doomed.every((key) => before[key] > 0)).toBe(true)

      // Off a terminal without --yes: refused before anything is opened.
      const unasked = await run(home, [])
      expect(unasked.exitCode).toBe(2)
      expect(unasked.stderr.split('\n')[0]).toBe('k2ops: refusing: not a terminal; pass --yes')
      expect((await run(home, ['--json'])).json.error).toMatchObject({code: 'confirmation_required', exit: 2})

      const dry = await run(home, ['--dry-run', '--json'])
      expect(dry.exitCode, dry.stderr).toBe(0)
      expect(dry.json).toMatchObject({status: 'planned', dryRun: true, engine: factory.kind, today: TODAY, safety: null, result: null, audit: null, error: null})
      expect(dry.json.policy).toEqual({'1m': 90, '5m': 180, '30m': 365, '1h': 1095, '1d': 1825, trades: null})
      expect(dry.json.plan).toEqual(
        TIMEFRAMES.map((tf) => ({
          target: tf,
          table: TIMEFRAME_SPECS[tf].table,
          dateColumn: 'window_date',
          policyDays: TIMEFRAME_SPECS[tf].retentionDays,
          cutoff: CUTOFFS[tf],
          from: shiftDate(CUTOFFS[tf], -3),
          to: shiftDate(CUTOFFS[tf], -1),
          days: 2,
          rows: 5,
          bytesEstimate: expect.any(Number),
          rowsKept: 4,
          oldestKept: `${CUTOFFS[tf]}T00:00:00Z`,
          newestKept: `${TODAY}T00:00:00Z`,
          byDay: doomedDays(tf),
          rewritesFiles: expect.any(Boolean),
          filesToRewrite: expect.any(Number),
        })),
      )
      for (const table of dry.json.plan) expect(table.bytesEstimate).toBeGreaterThan(0)

      const human = await run(home, ['--dry-run'])
      expect(human.exitCode).toBe(0)
      expect(human.stdout).toMatch(/^TABLE\s+POLICY\s+CUTOFF\s+FROM\s+TO\s+DAYS\s+ROWS\s+~BYTES\s+NEWEST KEPT$/m)
      expect(human.stdout).toMatch(/^market_data\.gold_ohlcv_1m\s+90 d\s+2025-12-01\s+2025-11-28\s+2025-11-30\s+2\s+5\s+\S+ (?:B|KiB|MiB)\s+2026-03-01T00:00:00Z$/m)
      expect(human.stdout).toMatch(/^market_data\.gold_ohlcv_1d\s+1825 d\s+2021-03-02\s+2021-02-27\s+2021-03-01\s+2\s+5\s/m)
      expect(human.stdout).toMatch(/~BYTES is an estimate/)
      expect(human.stdout).toMatch(/Dry run: nothing was deleted/)
      factory.checkDryRun?.(dry, human)
      expect(await countsOf(home)).toEqual(before)
      expect(auditRecords(home)).toEqual([])

      const real = await run(home, ['--yes', '--json'])
      expect(real.exitCode, real.stderr).toBe(0)
      expect(real.json).toMatchObject({status: 'completed', dryRun: false, today: TODAY, error: null})
      // The real run deletes the plan the dry run showed: the same computation, the same numbers.
      expect(real.json.plan).toEqual(dry.json.plan)
      expect(real.json.result.tables).toEqual(
        TIMEFRAMES.map((tf) => ({target: tf, table: TIMEFRAME_SPECS[tf].table, plannedRows: 5, deletedRows: 5, deletedByDay: doomedDays(tf), status: 'deleted', error: null, durationMs: expect.any(Number)})),
      )
      expect(real.json.result).toMatchObject({deletedRows: 25, failedTable: null, checkpoint: {done: true, error: null}})
      // Nothing outside the policy was touched: every other row is still there.
      expect(await countsOf(home)).toEqual(without(before, doomed))
      await factory.checkRealRun?.(home, real)

      const again = await run(home, ['--yes', '--json'])
      expect(again.exitCode).toBe(0)
      expect(again.json.plan.map((table: {rows: number; days: number; from: string | null}) => [table.rows, table.days, table.from])).toEqual(TIMEFRAMES.map(() => [0, 0, null]))
      expect(again.json.result).toMatchObject({deletedRows: 0, failedTable: null, checkpoint: {done: false}})
      expect(again.json.result.tables.map((table: {status: string}) => table.status)).toEqual(TIMEFRAMES.map(() => 'nothing to delete'))
      expect(await countsOf(home)).toEqual(without(before, doomed))

      const records = auditRecords(home)
      expect(records).toHaveLength(2)
      expect(records[0]).toMatchObject({
        id: real.json.audit.id,
        command: 'retention',
        at: NOW,
        user: expect.any(String),
        host: expect.any(String),
        outcome: 'completed',
        details: {
          dryRun: false,
          engine: factory.kind,
          policy: {'1m': 90, '5m': 180, '30m': 365, '1h': 1095, '1d': 1825, trades: null},
          cutoffs: perTable((tf) => CUTOFFS[tf]),
          planned: perTable(() => 5),
          plannedByDay: perTable((tf) => doomedDays(tf)),
          deleted: perTable(() => 5),
          deletedByDay: perTable((tf) => doomedDays(tf)),
          failedTable: null,
          forced: false,
        },
      })
      expect(records[1].details.deleted).toEqual(perTable(() => 0))

      const history = await run(home, ['--history', '--json'])
      expect(history.json.records.map((record: {id: string}) => record.id)).toEqual([again.json.audit.id, real.json.audit.id])
      const lines = (await run(home, ['--history'])).stdout.split('\n').filter((line) => line.startsWith(NOW))
      expect(lines[1]).toMatch(/completed\s+25\s+1m 5, 5m 5, 30m 5, 1h 5, 1d 5/)
    })

    it('applies configured policies to the chosen tables only', async () => {
      const home = await factory.newHome()
      await seed(home, edgeSeed())
      writeFileSync(join(home, 'config.json'), JSON.stringify({retention: {'1m': 89}}))
      const before = await countsOf(home)
      const result = await run(home, ['--timeframe', '1m,1d', '--yes', '--json'])
      expect(result.exitCode, result.stderr).toBe(0)
      // 89 days keep one more day: 2025-11-30 stays, and only 1m and 1d are touched.
      expect(result.json.plan.map((table: {target: string; cutoff: string; rows: number}) => [table.target, table.cutoff, table.rows])).toEqual([
        ['1m', '2025-12-02', 7],
        ['1d', CUTOFFS['1d'], 5],
      ])
      const gone = [...doomedDays('1m').map((day) => `1m ${day.date}`), '1m 2025-12-01', ...doomedDays('1d').map((day) => `1d ${day.date}`)]
      expect(await countsOf(home)).toEqual(without(before, gone))
    })

    it('refuses to drop trades whose candles were never built or do not reconcile, unless --force', async () => {
      const home = await factory.newHome()
      await seed(home, {trades: tradeDays()})
      writeFileSync(join(home, 'config.json'), JSON.stringify({retention: {trades: 30}}))
      const backfill = await cli(home, ['backfill', '--timeframe', 'all', '--from', '2026-01-28', '--to', '2026-01-31'])
      expect(backfill.exitCode, backfill.stderr).toBe(0)
      const built = await countsOf(home)

      const ok = await run(home, ['--timeframe', 'trades', '--dry-run', '--json'])
      expect(ok.exitCode, ok.stderr).toBe(0)
      const rows = built['trades 2026-01-28'] + built['trades 2026-01-29']
      expect(ok.json.plan).toEqual([expect.objectContaining({target: 'trades', table: TRADES_TABLE, dateColumn: 'exchange_date', cutoff: '2026-01-30', from: '2026-01-28', to: '2026-01-29', days: 2, rows, rewritesFiles: false})])
      expect(ok.json.safety).toMatchObject({name: 'trades_retention_safety', status: 'pass'})

      // A late trade its candles never saw, and a day of trades that was never built.
      const late: TestTrade[] = [{id: 'late', at: '2026-01-28T09:52:30Z', price: '100', qty: '5', ingestedAt: 99}, {id: 'unbuilt', at: '2026-01-20T08:00:00Z', price: '100', qty: '1'}]
      await seed(home, {trades: late})
      const before = await countsOf(home)

      const refused = await run(home, ['--yes', '--json'])
      expect(refused.exitCode).toBe(1)
      expect(refused.json).toMatchObject({status: 'refused', result: null, error: {table: TRADES_TABLE, message: expect.stringMatching(/^refused to delete trades/)}})
      expect(refused.json.plan.map((table: {target: string}) => table.target)).toEqual([...TIMEFRAMES, 'trades'])
      expect(refused.json.safety.status).toBe('fail')
      expect(refused.json.safety.evidence).toEqual(
        expect.arrayContaining([
          expect.objectContaining({timeframe: '1m', symbol: 'BTCUSDT', exchange: 'BINANCE', window_start: '2026-01-20T08:00:00Z', kind: 'no candle'}),
          expect.objectContaining({timeframe: '1m', window_start: '2026-01-28T09:52:00Z', trades: 2, candle_trades: 1, kind: 'differs'}),
        ]),
      )
      expect(await countsOf(home)).toEqual(before)
      expect(auditRecords(home).at(-1)).toMatchObject({outcome: 'failed', error: expect.stringMatching(/^refused/), details: {failedTable: TRADES_TABLE, deleted: {}}})

      const human = await run(home, ['--timeframe', 'trades', '--dry-run'])
      expect(human.exitCode).toBe(1)
      expect(human.stdout).toMatch(/FAIL\s+trades_retention_safety/)
      expect(human.stdout).toMatch(/2026-01-28T09:52:00Z\s+2\s+1\s+.*differs/)
      expect(human.stderr).toMatch(/^k2ops: the real run would refuse to delete trades from market_data\.gold_crypto_trades: .*--force/m)

      const forced = await run(home, ['--timeframe', 'trades', '--force', '--yes', '--json'])
      expect(forced.exitCode, forced.stderr).toBe(0)
      const doomed = Object.keys(before).filter((key) => key.startsWith('trades ') && key < 'trades 2026-01-30')
      const planned = doomed.reduce((sum, key) => sum + before[key], 0)
      expect(forced.json.result.tables).toEqual([expect.objectContaining({table: TRADES_TABLE, plannedRows: planned, deletedRows: planned, status: 'deleted'})])
      expect(await countsOf(home)).toEqual(without(before, doomed))
      expect(auditRecords(home).at(-1)).toMatchObject({outcome: 'completed', details: {forced: true, deleted: {[TRADES_TABLE]: planned}, policy: {trades: 30}}})
    })

    it("refuses to delete a table's newest row (it would empty the table) with exit 2 naming it, unless --allow-empty", async () => {
      const home = await factory.newHome()
      const candles: SeedCandle[] = [
        {tf: '1m', symbol: 'BTCUSDT', start: '2025-11-20T00:00:00Z'},
        {tf: '1m', symbol: 'BTCUSDT', start: '2025-11-30T23:59:00Z'},
        {tf: '5m', symbol: 'BTCUSDT', start: '2025-11-30T23:55:00Z'},
      ]
      await seed(home, {candles})
      const before = await countsOf(home)
      const message = 'retention would empty market_data.gold_ohlcv_1m (all 2 rows, the newest dated 2025-11-30); nothing was deleted (--allow-empty deletes them anyway)'
      const refused = await run(home, ['--yes'])
      expect(refused.exitCode).toBe(2)
      expect(refused.stderr.split('\n')[0]).toBe(`k2ops: refusing: ${message}`)
      const dry = await run(home, ['--dry-run', '--json'])
      expect(dry.exitCode).toBe(2)
      expect(dry.json.error).toMatchObject({code: 'would_empty_table', exit: 2, message: `the real run would refuse: ${message}`})
      expect(await countsOf(home)).toEqual(before)
      expect(auditRecords(home)).toEqual([])

      const allowed = await run(home, ['--yes', '--allow-empty', '--json'])
      expect(allowed.exitCode, allowed.stderr).toBe(0)
      expect(allowed.json.result.tables[0]).toMatchObject({table: TIMEFRAME_SPECS['1m'].table, deletedRows: 2, status: 'deleted'})
      expect(await countsOf(home)).toEqual({'5m 2025-11-30': 1})
    })

    it('a row that arrived after the plan rolls its table back whole and stops the run there', async () => {
      const home = await factory.newHome()
      await withEngine(home, async (engine) => {
        await factory.insertRows(engine, {candles: [{tf: '1m', symbol: 'BTCUSDT', start: '2025-11-30T23:59:00Z'}, {tf: '5m', symbol: 'BTCUSDT', start: '2025-09-01T23:55:00Z'}]})
        const plan = await planRetention(engine, {'1m': 90, '5m': 180}, TODAY)
        await factory.insertRows(engine, {candles: [{tf: '1m', symbol: 'ETHUSDT', start: '2025-11-30T12:00:00Z'}]})
        const before = await factory.rowsPerDay(engine)
        const result = await applyRetention(engine, plan)
        expect(result.failedTable).toBe(TIMEFRAME_SPECS['1m'].table)
        expect(result.tables.map((t) => [t.status, t.deletedRows])).toEqual([
          ['failed', 0],
          ['not run', 0],
        ])
        expect(result.tables[0].error).toMatch(/not the planned ones \(2025-11-30: 1 planned, 2 found\); nothing of it was deleted/)
        expect(result.checkpoint.done).toBe(false)
        expect(await factory.rowsPerDay(engine)).toEqual(before)
      })
    })
  })
}
