import {execa} from 'execa'
import {execFileSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {insertCandle, rowsPerDay} from '../helpers/candle-rows.js'
import {BIN, CliResult, k2ops} from '../helpers/cli.js'
import {killWhenStderr} from '../helpers/kill-at.js'
import {CUTOFFS, NOW, allDoomed, auditRecords, doomedDays, edgeSeed, shiftDate, without} from '../helpers/retention-fixture.js'
import {useTempDir} from '../helpers/temp-home.js'
import {insertTrades, openTestWarehouse} from '../helpers/warehouse.js'

// Retention on DuckDB only: its engine failures, file permissions, a killed run, and the checks
// around it. The rules every engine shares: test/engine/retention.suite.ts.

/** The edge layout (test/helpers/retention-fixture.ts) in a DuckDB warehouse file. */
async function edgeWarehouse(dir: string): Promise<string> {
  const warehouse = await openTestWarehouse(dir)
  const {candles, trades} = edgeSeed()
  for (const candle of candles) await insertCandle(warehouse, candle.tf, candle)
  await insertTrades(warehouse, trades)
  warehouse.close()
  return join(dir, 'warehouse.duckdb')
}

async function countsOf(path: string): Promise<Record<string, number>> {
  const warehouse = await Warehouse.open(path, {operation: 'test', lockTimeoutMs: 10_000, readOnly: true})
  try {
    return await rowsPerDay(warehouse)
  } finally {
    warehouse.close()
  }
}

const run = (home: string, args: string[]) => k2ops(['retention', '--home', home, ...args], {K2OPS_NOW: NOW})

describe('k2ops retention', () => {
  const tempDir = useTempDir('k2ops-retention-')

  it('a table that cannot be deleted from fails with exit 1 and keeps all its rows; the tables before it are done and reported', async () => {
    const home = tempDir()
    const path = await edgeWarehouse(home)
    // A real engine failure: a foreign key pins one expiring 5m candle, so deleting it violates a constraint.
    const warehouse = await openTestWarehouse(home)
    await warehouse.run(`ALTER TABLE ${TIMEFRAME_SPECS['5m'].table} ADD PRIMARY KEY (symbol, exchange, window_start)`)
    await warehouse.run(`CREATE TABLE market_data.pinned_5m (symbol VARCHAR, exchange VARCHAR, window_start TIMESTAMP,
      FOREIGN KEY (symbol, exchange, window_start) REFERENCES ${TIMEFRAME_SPECS['5m'].table} (symbol, exchange, window_start))`)
    await warehouse.run(`INSERT INTO market_data.pinned_5m VALUES ('SYM0USDT', 'BINANCE', TIMESTAMP '${shiftDate(CUTOFFS['5m'], -1)} 23:55:00')`)
    warehouse.close()
    const before = await countsOf(path)

    const failed = await run(home, ['--yes', '--json'])
    expect(failed.exitCode).toBe(1)
    expect(failed.json).toMatchObject({status: 'failed', error: {table: TIMEFRAME_SPECS['5m'].table, message: expect.stringMatching(/^retention failed on market_data\.gold_ohlcv_5m: .*foreign key/)}})
    expect(failed.json.result.tables.map((table: {status: string; deletedRows: number}) => [table.status, table.deletedRows])).toEqual([
      ['deleted', 5],
      ['failed', 0],
      ['not run', 0],
      ['not run', 0],
      ['not run', 0],
    ])
    expect(failed.json.result.failedTable).toBe(TIMEFRAME_SPECS['5m'].table)
    expect(await countsOf(path)).toEqual(without(before, doomedDays('1m').map((day) => `1m ${day.date}`)))
    expect(auditRecords(home)).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        error: failed.json.error.message,
        details: expect.objectContaining({failedTable: TIMEFRAME_SPECS['5m'].table, deleted: expect.objectContaining({[TIMEFRAME_SPECS['1m'].table]: 5, [TIMEFRAME_SPECS['5m'].table]: 0})}),
      }),
    ])

    const human = await run(home, ['--yes'])
    expect(human.exitCode).toBe(1)
    expect(human.stderr).toMatch(/^k2ops: retention failed on market_data\.gold_ohlcv_5m: .*\(none of its rows were deleted; nothing was deleted\)$/m)
    expect(human.stdout).toMatch(/^market_data\.gold_ohlcv_5m\s+5\s+0\s+failed\s+Constraint Error/m)
    expect(await countsOf(path)).toEqual(without(before, doomedDays('1m').map((day) => `1m ${day.date}`)))
  })

  it('a warehouse held by another process exits 4 and deletes nothing', async () => {
    const home = tempDir()
    const path = await edgeWarehouse(home)
    const before = await countsOf(path)
    const held = await Warehouse.open(path, {operation: 'test holder', lockTimeoutMs: 5000})
    let busy: CliResult
    try {
      busy = await run(home, ['--lock-timeout', '1', '--yes', '--json'])
    } finally {
      held.close()
    }

    expect(busy.exitCode).toBe(4)
    expect(busy.json.error).toMatchObject({code: 'warehouse_busy', exit: 4})
    expect(await countsOf(path)).toEqual(before)
    expect(auditRecords(home)).toEqual([])
  })

  // DuckDB writes a deletion's commit to `<warehouse>.wal` beside the file; a directory the user
  // cannot write makes that commit fail mid-run. Root ignores permissions, so as root the CLI runs
  // as `nobody` (setpriv); the temporary files are given to that user.
  const unprivileged = process.getuid?.() !== 0 || (existsSync('/usr/bin/setpriv') && nobodyCanRun(BIN))
  if (!unprivileged) console.warn('skipped the read-only warehouse test: running as root, and `nobody` cannot run this checkout (no setpriv, or a private parent directory)')
  it.runIf(unprivileged)('a warehouse the user cannot write: a read-only file is refused at open (exit 2), a read-only directory fails the commit (exit 1); nothing is deleted', async () => {
    const dir = tempDir()
    const home = join(dir, 'home')
    const data = join(dir, 'data')
    mkdirSync(home, {mode: 0o700})
    mkdirSync(data)
    await edgeWarehouse(data)
    const path = join(data, 'warehouse.duckdb')
    const before = await countsOf(path)
    const asRoot = process.getuid?.() === 0
    if (asRoot) for (const entry of [dir, home, data, path]) chownSync(entry, 65_534, 65_534)
    const runAs = async (args: string[]) => {
      const command = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'node', BIN] : ['node', BIN]
      const result = await execa(command[0], [...command.slice(1), 'retention', '--home', home, '--warehouse', path, ...args], {reject: false, env: {NO_COLOR: '1', K2OPS_NOW: NOW}})
      return {exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, json: JSON.parse(result.stdout || 'null')}
    }

    chmodSync(path, 0o444)
    const readOnlyFile = await runAs(['--yes', '--json'])
    expect(readOnlyFile.exitCode).toBe(2)
    expect(readOnlyFile.json.error).toMatchObject({code: 'warehouse_unreadable', message: expect.stringMatching(/Permission denied/)})

    chmodSync(path, 0o644)
    chmodSync(data, 0o555)
    const readOnlyDir = await runAs(['--yes', '--json'])
    chmodSync(data, 0o755)
    expect(readOnlyDir.exitCode).toBe(1)
    expect(readOnlyDir.json).toMatchObject({status: 'failed', error: {table: TIMEFRAME_SPECS['1m'].table, message: expect.stringMatching(/warehouse\.duckdb\.wal.*Permission denied.*nothing was deleted/)}})
    expect(readOnlyDir.json.result.tables.map((table: {status: string}) => table.status)).toEqual(['failed', 'not run', 'not run', 'not run', 'not run'])
    expect(await countsOf(path)).toEqual(before)
    expect(auditRecords(home)).toEqual([expect.objectContaining({outcome: 'failed', details: expect.objectContaining({failedTable: TIMEFRAME_SPECS['1m'].table, deleted: expect.objectContaining({[TIMEFRAME_SPECS['1m'].table]: 0})})})])
  })

  it('usage and configuration errors exit 2 with a one-line message naming the problem', async () => {
    const home = tempDir()
    await edgeWarehouse(home)
    const cases: Array<[string[], unknown, RegExp]> = [
      [['--timeframe', '2m'], undefined, /^k2ops: --timeframe: unknown table '2m'/],
      [['--timeframe', 'trades'], undefined, /^k2ops: --timeframe trades: no retention policy is set for the source trades/],
      [['--dry-run'], {retention: {'2m': 30}}, /^k2ops: .*config\.json: retention\.2m: unknown key \(did you mean '1m'\? known: 1m, 5m, 30m, 1h, 1d, trades\)$/],
      [['--dry-run'], {retention: {'1m': 0}}, /^k2ops: .*config\.json: retention\.1m: 0 is not allowed: a whole number of days from 1 to 36500$/],
      [['--dry-run'], {retention: {trades: 1.5}}, /^k2ops: .*config\.json: retention\.trades: 1\.5 is not allowed: a whole number of days from 1 to 36500$/],
      [['--dry-run'], {retention: {'1d': '1825'}}, /^k2ops: .*config\.json: retention\.1d: "1825" is not allowed: a whole number of days from 1 to 36500$/],
      [['--history', '--dry-run'], undefined, /^k2ops: .*--dry-run=true cannot also be provided when using --history/],
      [['--limit', '0', '--history'], undefined, /^k2ops: .*Expected an integer greater than or equal to 1/],
    ]
    for (const [args, config, message] of cases) {
      writeFileSync(join(home, 'config.json'), JSON.stringify(config ?? {}))
      const result = await run(home, args)
      expect(result.exitCode, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).toMatch(message)
      expect(result.stderr).not.toMatch(/\n\s+at /)
    }

    for (const [args, config] of [cases[0], cases[3]]) {
      writeFileSync(join(home, 'config.json'), JSON.stringify(config ?? {}))
      const json = await run(home, [...args, '--json'])
      expect(json.exitCode).toBe(2)
      expect(json.json).toEqual({error: {code: expect.any(String), exit: 2, message: expect.any(String), suggestions: expect.any(Array)}})
    }

    expect(auditRecords(home)).toEqual([])
  })
})

const hasScript = ['/usr/bin/script', '/bin/script'].some((path) => existsSync(path))

describe('k2ops retention: confirmation on a terminal, the audit trail of a killed run', () => {
  const tempDir = useTempDir('k2ops-retention-safe-')

  // `script` (util-linux) gives the CLI a pseudo-terminal.
  it.skipIf(!hasScript)('on a terminal it asks: "n" deletes nothing (exit 1), "y" deletes the plan', async () => {
    const home = tempDir()
    const path = await edgeWarehouse(home)
    const before = await countsOf(path)
    const onTerminal = (answer: string) =>
      execa('script', ['-qec', `node ${BIN} retention --home ${home}`, '/dev/null'], {input: answer, env: {K2OPS_NOW: NOW, NO_COLOR: '1'}, reject: false, timeout: 60_000})
    const no = await onTerminal('n\n')
    expect(no.stdout).toMatch(/Delete 25 rows from 5 tables\? \[y\/N\]/)
    expect(no.stdout).toContain('cancelled: nothing was deleted')
    expect(no.exitCode).toBe(1)
    expect(await countsOf(path)).toEqual(before)
    expect(auditRecords(home)).toEqual([])
    const yes = await onTerminal('y\n')
    expect(yes.exitCode, yes.stdout).toBe(0)
    expect(yes.stdout).toMatch(/Deleted 25 rows/)
    expect(auditRecords(home)).toEqual([expect.objectContaining({outcome: 'completed'})])
  })

  it('killed right after the checkpoint: the intent is on record, --history shows the run interrupted, and the next run says (and records) what it deleted', async () => {
    const home = tempDir()
    const path = await edgeWarehouse(home)
    const before = await countsOf(path)
    const doomed = allDoomed()
    // The test hook stops the real process after its deletions are committed and checkpointed, before its outcome is recorded.
    const killed = await killWhenStderr(['retention', '--home', home, '--yes'], {K2OPS_NOW: NOW, K2OPS_TEST_PAUSE_AT: 'after-checkpoint'}, 'k2ops test hook: paused at after-checkpoint')
    expect(killed.signal, killed.stderr).toBe('SIGKILL')
    // The deletions were done: the warehouse shows them.
    expect(await countsOf(path)).toEqual(without(before, doomed))

    // The trail has the run: its intent with the plan, shown as interrupted.
    const [record] = auditRecords(home)
    expect(record).toMatchObject({command: 'retention', at: NOW, outcome: 'interrupted', details: {planned: Object.fromEntries(TIMEFRAMES.map((tf) => [TIMEFRAME_SPECS[tf].table, 5]))}})
    const history = await run(home, ['--history'])
    expect(history.stdout).toMatch(new RegExp(`^${NOW}\\s+\\S+\\s+interrupted\\s+\\?\\s+-\\s+killed before it recorded its outcome; run retention again`, 'm'))

    // A dry run says what the warehouse shows the killed run did, and records nothing.
    const dry = await run(home, ['--dry-run'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.stderr).toContain(`warning: the retention run ${record.id} of ${NOW} (`)
    expect(dry.stderr).toContain('was interrupted before it recorded its outcome; the warehouse shows: 1m 5 deleted, 5m 5 deleted, 30m 5 deleted, 1h 5 deleted, 1d 5 deleted')
    expect(auditRecords(home)).toHaveLength(1)

    // The next real run records it as the killed run's outcome, then does its own (nothing left to delete).
    const next = await run(home, ['--yes', '--json'])
    expect(next.exitCode, next.stderr).toBe(0)
    expect(next.json.interrupted).toEqual([
      {id: record.id, at: NOW, by: expect.any(String), tables: TIMEFRAMES.map((tf) => ({target: tf, table: TIMEFRAME_SPECS[tf].table, cutoff: CUTOFFS[tf], rows: 5, left: 0, deleted: 5, status: 'deleted'}))},
    ])
    expect(next.json.result.deletedRows).toBe(0)
    const records = auditRecords(home)
    expect(records.map((r) => [r.id, r.outcome])).toEqual([
      [record.id, 'interrupted'],
      [next.json.audit.id, 'completed'],
    ])
    expect(records[0].details.deleted).toEqual(Object.fromEntries(TIMEFRAMES.map((tf) => [TIMEFRAME_SPECS[tf].table, 5])))
    const after = await run(home, ['--history'])
    expect(after.stdout).toMatch(new RegExp(`^${NOW}\\s+\\S+\\s+interrupted\\s+25\\s+1m 5, 5m 5, 30m 5, 1h 5, 1d 5\\s+killed before it recorded its outcome; DELETED is what the warehouse showed after`, 'm'))
    expect((await run(home, ['--yes', '--json'])).json.interrupted).toEqual([])
  })
})

describe('retention and the checks agree', () => {
  const tempDir = useTempDir('k2ops-retention-checks-')

  it('after retention the deleted windows are no gaps, freshness does not blame the pipeline, and backfill and recover leave them alone unless --force', async () => {
    const home = tempDir()
    const warehouse = await openTestWarehouse(home)
    // Two days of trades, every 10 minutes, before the 1m cutoff (2025-12-01) and after the 5m one.
    const trades = []
    for (const day of ['2025-11-29', '2025-11-30']) {
      for (let minute = 0; minute < 1440; minute += 10) trades.push({id: `${day}-${minute}`, at: new Date(Date.parse(`${day}T00:00:00Z`) + minute * 60_000 + 1500).toISOString(), price: '100', qty: '1'})
    }

    await insertTrades(warehouse, trades)
    warehouse.close()
    const path = join(home, 'warehouse.duckdb')
    const cli = (args: string[]) => k2ops([...args, '--home', home], {K2OPS_NOW: NOW})
    // The candles as they were built back then (--force: the 1m ones are past their retention now).
    expect((await cli(['backfill', '--timeframe', 'all', '--from', '2025-11-29', '--to', '2025-12-01', '--force'])).exitCode).toBe(0)
    const applied = await cli(['retention', '--yes', '--allow-empty', '--json'])
    expect(applied.exitCode, applied.stderr).toBe(0)
    expect(applied.json.result.tables[0]).toMatchObject({table: TIMEFRAME_SPECS['1m'].table, deletedRows: 288})
    const oneMinute = async () => Object.entries(await countsOf(path)).filter(([key]) => key.startsWith('1m ')).reduce((sum, [, n]) => sum + n, 0)
    expect(await oneMinute()).toBe(0)

    const gaps = await cli(['gaps', '--from', '2025-11-28', '--to', '2025-12-02', '--json'])
    expect(gaps.exitCode, gaps.stdout).toBe(0)
    const oneMinuteGaps = gaps.json.checks.find((check: {name: string; timeframe: string}) => check.name === 'pipeline_gaps' && check.timeframe === '1m')
    expect(oneMinuteGaps).toMatchObject({status: 'pass', checked: 0})
    expect(oneMinuteGaps.summary).toContain('windows before 2025-12-01T00:00:00Z not checked (deleted by the 90-day retention)')
    expect(gaps.json.checks.filter((check: {status: string}) => check.status !== 'pass')).toEqual([])

    // The feed is three months old (source lag fails), but no candle table is behind.
    const freshness = await cli(['freshness', '--json'])
    const statuses = freshness.json.checks.map((check: {name: string; timeframe: string | null; status: string}) => `${check.name} ${check.timeframe ?? '-'} ${check.status}`)
    expect(statuses).toEqual(['source_lag - fail', ...TIMEFRAMES.map((tf) => `candle_lag ${tf} pass`)])
    expect(freshness.json.checks[1].summary).toBe('the newest trade (2025-11-30T23:50:01.500000Z) is older than the 1m retention cutoff (2025-12-01T00:00:00Z, 90 d): no 1m candles are kept for it')

    const backfill = await cli(['backfill', '--timeframe', '1m', '--from', '2025-11-29', '--to', '2025-12-01', '--json'])
    expect(backfill.exitCode, backfill.stderr).toBe(0)
    expect(backfill.json).toMatchObject({days: 0, candles: 0, retentionClamp: [{timeframe: '1m', cutoff: '2025-12-01T00:00:00Z', policyDays: 90}]})
    const said = await cli(['backfill', '--timeframe', '1m', '--from', '2025-11-29', '--to', '2025-12-01'])
    expect(said.stderr).toContain('note: 1m: windows before 2025-12-01T00:00:00Z (its 90-day retention) are left out; --force rebuilds them too')
    const recover = await cli(['recover', '--timeframe', '1m', '--date', '2025-11-29', '--yes', '--json'])
    expect(recover.exitCode, recover.stderr).toBe(0)
    expect(recover.json).toMatchObject({outcome: 'nothing to repair', plan: {ranges: []}, retentionClamp: [{timeframe: '1m', cutoff: '2025-12-01T00:00:00Z'}]})
    expect(await oneMinute()).toBe(0)

    const forced = await cli(['recover', '--timeframe', '1m', '--date', '2025-11-29', '--yes', '--force', '--json'])
    expect(forced.exitCode, forced.stderr).toBe(0)
    expect(forced.json).toMatchObject({outcome: 'repaired', retentionClamp: []})
    expect(await oneMinute()).toBe(144)
    const forcedBackfill = await cli(['backfill', '--timeframe', '1m', '--from', '2025-11-30', '--to', '2025-12-01', '--force', '--json'])
    expect(forcedBackfill.json).toMatchObject({days: 1, candles: 144, retentionClamp: []})
    expect(await oneMinute()).toBe(288)
  })
})

/** Can the user `nobody` read the CLI (a checkout under a private directory, e.g. mktemp -d, cannot be)? */
function nobodyCanRun(bin: string): boolean {
  try {
    execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', '-e', 'require("fs").accessSync(process.argv[1], require("fs").constants.R_OK)', bin], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}
