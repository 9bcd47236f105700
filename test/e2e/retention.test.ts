import {execa} from 'execa'
import {execFileSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {TRADES_TABLE} from '../../src/pipeline/schema.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from '../../src/pipeline/timeframes.js'
import {AuditLog} from '../../src/pipeline/audit.js'
import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {insertCandle, rowsPerDay} from '../helpers/candle-rows.js'
import {BIN, CliResult, k2ops} from '../helpers/cli.js'
import {killWhenStderr} from '../helpers/kill-at.js'
import {useTempDir} from '../helpers/temp-home.js'
import {insertTrades, openTestWarehouse} from '../helpers/warehouse.js'

const NOW = '2026-03-01T12:00:00Z'
const TODAY = '2026-03-01'
/** Today minus 90, 180, 365, 1095 and 1825 days, counted by hand (2024-02-29 lies inside the last two). */
const CUTOFFS: Record<Timeframe, string> = {'1m': '2025-12-01', '5m': '2025-09-02', '30m': '2025-03-01', '1h': '2023-03-02', '1d': '2021-03-02'}
/** The last window of a day, the one right before the next day's cutoff edge. */
const LAST_WINDOW: Record<Timeframe, string> = {'1m': '23:59', '5m': '23:55', '30m': '23:30', '1h': '23:00', '1d': '00:00'}

function shiftDate(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)
}

/** Per timeframe: rows on the day before the cutoff (at its last window) and three days before go; the cutoff day (at 00:00) and later stay. */
const LAYOUT: Array<{offset: number; rows: number; time: (tf: Timeframe) => string}> = [
  {offset: -3, rows: 2, time: () => '00:00'},
  {offset: -1, rows: 3, time: (tf) => LAST_WINDOW[tf]},
  {offset: 0, rows: 2, time: () => '00:00'},
  {offset: 1, rows: 1, time: () => '00:00'},
]

function doomedDays(tf: Timeframe): Array<{date: string; rows: number}> {
  return LAYOUT.filter((day) => day.offset < 0).map((day) => ({date: shiftDate(CUTOFFS[tf], day.offset), rows: day.rows}))
}

/** Every `tf date` key the default policies delete from edgeWarehouse. */
function allDoomed(): string[] {
  return TIMEFRAMES.flatMap((tf) => doomedDays(tf).map((day) => `${tf} ${day.date}`))
}

/** A warehouse with candles on both sides of every policy's edge, today's candles, and a few old trades (no trades policy: they stay). */
async function edgeWarehouse(dir: string): Promise<string> {
  const warehouse = await openTestWarehouse(dir)
  for (const tf of TIMEFRAMES) {
    for (const day of LAYOUT) {
      for (let i = 0; i < day.rows; i++) await insertCandle(warehouse, tf, {symbol: `SYM${i}USDT`, start: `${shiftDate(CUTOFFS[tf], day.offset)}T${day.time(tf)}:00Z`})
    }

    await insertCandle(warehouse, tf, {symbol: 'BTCUSDT', start: `${TODAY}T00:00:00Z`})
  }

  await insertTrades(warehouse, [
    {id: '1', at: '2020-01-01T00:00:01Z', price: '7000', qty: '1'},
    {id: '2', at: '2020-01-01T00:00:02Z', price: '7001', qty: '2'},
  ])
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

function without(counts: Record<string, number>, keys: string[]): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([key]) => !keys.includes(key)))
}

/** The home's audit records, oldest first. */
function auditRecords(home: string): Array<Record<string, any>> {
  return new AuditLog(join(home, 'state', 'audit.jsonl')).list().reverse()
}

const run = (home: string, args: string[]) => k2ops(['retention', '--home', home, ...args], {K2OPS_NOW: NOW})

describe('k2ops retention', () => {
  const tempDir = useTempDir('k2ops-retention-')

  it('plans exactly the rows dated before each cutoff, deletes exactly them, and a second run is a no-op', async () => {
    const home = tempDir()
    const path = await edgeWarehouse(home)
    const before = await countsOf(path)
    const doomed = allDoomed()
    expect(doomed.every((key) => before[key] > 0)).toBe(true)

    const dry = await run(home, ['--dry-run', '--json'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.json).toMatchObject({status: 'planned', dryRun: true, today: TODAY, safety: null, result: null, audit: null, error: null})
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
      })),
    )
    for (const table of dry.json.plan) expect(table.bytesEstimate).toBeGreaterThan(0)
    expect(await countsOf(path)).toEqual(before)
    expect(auditRecords(home)).toEqual([])

    const human = await run(home, ['--dry-run'])
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toMatch(/^TABLE\s+POLICY\s+CUTOFF\s+FROM\s+TO\s+DAYS\s+ROWS\s+~BYTES\s+NEWEST KEPT$/m)
    expect(human.stdout).toMatch(/^market_data\.gold_ohlcv_1m\s+90 d\s+2025-12-01\s+2025-11-28\s+2025-11-30\s+2\s+5\s+\S+ (?:B|KiB|MiB)\s+2026-03-01T00:00:00Z$/m)
    expect(human.stdout).toMatch(/^market_data\.gold_ohlcv_1d\s+1825 d\s+2021-03-02\s+2021-02-27\s+2021-03-01\s+2\s+5\s/m)
    expect(human.stdout).toMatch(/~BYTES is an estimate/)
    expect(human.stdout).toMatch(/Dry run: nothing was deleted/)

    const real = await run(home, ['--yes', '--json'])
    expect(real.exitCode, real.stderr).toBe(0)
    expect(real.json).toMatchObject({status: 'completed', dryRun: false, today: TODAY, error: null})
    // The real run deletes the plan the dry run showed: the same computation, the same numbers.
    expect(real.json.plan).toEqual(dry.json.plan)
    expect(real.json.result.tables).toEqual(
      TIMEFRAMES.map((tf) => ({target: tf, table: TIMEFRAME_SPECS[tf].table, plannedRows: 5, deletedRows: 5, status: 'deleted', error: null, durationMs: expect.any(Number)})),
    )
    expect(real.json.result).toMatchObject({deletedRows: 25, failedTable: null, checkpoint: {done: true, error: null}})
    expect(await countsOf(path)).toEqual(without(before, doomed))

    const again = await run(home, ['--yes', '--json'])
    expect(again.exitCode).toBe(0)
    expect(again.json.plan.map((table: {rows: number; days: number; from: string | null}) => [table.rows, table.days, table.from])).toEqual(TIMEFRAMES.map(() => [0, 0, null]))
    expect(again.json.result).toMatchObject({deletedRows: 0, failedTable: null, checkpoint: {done: false}})
    expect(again.json.result.tables.map((table: {status: string}) => table.status)).toEqual(TIMEFRAMES.map(() => 'nothing to delete'))
    expect(await countsOf(path)).toEqual(without(before, doomed))

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
        policy: {'1m': 90, '5m': 180, '30m': 365, '1h': 1095, '1d': 1825, trades: null},
        cutoffs: Object.fromEntries(TIMEFRAMES.map((tf) => [TIMEFRAME_SPECS[tf].table, CUTOFFS[tf]])),
        deleted: Object.fromEntries(TIMEFRAMES.map((tf) => [TIMEFRAME_SPECS[tf].table, 5])),
        failedTable: null,
        forced: false,
      },
    })
    expect(records[1].details.deleted).toEqual(Object.fromEntries(TIMEFRAMES.map((tf) => [TIMEFRAME_SPECS[tf].table, 0])))

    const history = await run(home, ['--history', '--json'])
    expect(history.exitCode).toBe(0)
    expect(history.json.records.map((record: {id: string}) => record.id)).toEqual([again.json.audit.id, real.json.audit.id])
    const limited = await run(home, ['--history', '--limit', '1', '--json'])
    expect(limited.json.records.map((record: {id: string}) => record.id)).toEqual([again.json.audit.id])
    const table = await run(home, ['--history'])
    expect(table.stdout).toMatch(/^AT\s+BY\s+OUTCOME\s+DELETED\s+PER TABLE\s+NOTE$/m)
    const lines = table.stdout.split('\n').filter((line) => line.startsWith(NOW))
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/completed\s+0\s+1m 0, 5m 0, 30m 0, 1h 0, 1d 0/)
    expect(lines[1]).toMatch(/completed\s+25\s+1m 5, 5m 5, 30m 5, 1h 5, 1d 5/)
  })

  it('applies configured policies to the chosen tables only', async () => {
    const home = tempDir()
    const path = await edgeWarehouse(home)
    writeFileSync(join(home, 'config.json'), JSON.stringify({retention: {'1m': 89}}))
    const before = await countsOf(path)
    const result = await run(home, ['--timeframe', '1m,1d', '--yes', '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    // 89 days keep one more day: 2025-11-30 stays, and only 1m and 1d are touched.
    expect(result.json.plan.map((table: {target: string; cutoff: string; rows: number}) => [table.target, table.cutoff, table.rows])).toEqual([
      ['1m', '2025-12-02', 7],
      ['1d', CUTOFFS['1d'], 5],
    ])
    const gone = [...doomedDays('1m').map((day) => `1m ${day.date}`), '1m 2025-12-01', ...doomedDays('1d').map((day) => `1d ${day.date}`)]
    expect(await countsOf(path)).toEqual(without(before, gone))
  })

  it('refuses to drop trades whose candles were never built or do not reconcile, unless --force', async () => {
    const home = tempDir()
    writeFileSync(join(home, 'config.json'), JSON.stringify({retention: {trades: 30}}))
    const warehouse = await openTestWarehouse(home)
    // Trades policy 30 d: trades dated before 2026-01-30 go. Every minute of three days has trades.
    const trades = []
    for (const day of ['2026-01-28', '2026-01-29', '2026-01-30']) {
      for (let minute = 0; minute < 1440; minute += 37) {
        const at = new Date(Date.parse(`${day}T00:00:00Z`) + minute * 60_000 + 1500).toISOString()
        trades.push({id: `${day}-${minute}`, at, price: String(100 + (minute % 11)), qty: String(1 + (minute % 4))})
      }
    }

    await insertTrades(warehouse, trades)
    warehouse.close()
    const path = join(home, 'warehouse.duckdb')
    const backfill = await k2ops(['backfill', '--timeframe', 'all', '--from', '2026-01-28', '--to', '2026-01-31', '--home', home], {K2OPS_NOW: NOW})
    expect(backfill.exitCode, backfill.stderr).toBe(0)
    const built = await countsOf(path)

    const ok = await run(home, ['--timeframe', 'trades', '--dry-run', '--json'])
    expect(ok.exitCode, ok.stderr).toBe(0)
    expect(ok.json.plan).toEqual([expect.objectContaining({target: 'trades', table: TRADES_TABLE, dateColumn: 'exchange_date', cutoff: '2026-01-30', from: '2026-01-28', to: '2026-01-29', days: 2, rows: built['trades 2026-01-28'] + built['trades 2026-01-29']})])
    expect(ok.json.safety).toMatchObject({name: 'trades_retention_safety', status: 'pass'})

    // A late trade its candles never saw, and a day of trades that was never built.
    const late = await openTestWarehouse(home)
    await insertTrades(late, [{id: 'late', at: '2026-01-28T09:52:30Z', price: '100', qty: '5', ingestedAt: 99}])
    await insertTrades(late, [{id: 'unbuilt', at: '2026-01-20T08:00:00Z', price: '100', qty: '1'}])
    late.close()
    const before = await countsOf(path)

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
    expect(await countsOf(path)).toEqual(before)
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
    expect(await countsOf(path)).toEqual(without(before, doomed))
    expect(auditRecords(home).at(-1)).toMatchObject({outcome: 'completed', details: {forced: true, deleted: {[TRADES_TABLE]: planned}, policy: {trades: 30}}})
  })

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

describe('k2ops retention: confirmation, the audit trail of a killed run, an emptied table', () => {
  const tempDir = useTempDir('k2ops-retention-safe-')

  it('off a terminal it refuses without --yes (exit 2) and deletes nothing; --yes (what cron passes) deletes', async () => {
    const home = tempDir()
    const path = await edgeWarehouse(home)
    const before = await countsOf(path)
    const human = await run(home, [])
    expect(human.exitCode).toBe(2)
    expect(human.stderr.split('\n')[0]).toBe('k2ops: refusing: not a terminal; pass --yes')
    const json = await run(home, ['--json'])
    expect(json.exitCode).toBe(2)
    expect(json.json.error).toMatchObject({code: 'confirmation_required', exit: 2})
    expect(await countsOf(path)).toEqual(before)
    expect(auditRecords(home)).toEqual([])
    // A dry run asks nothing.
    expect((await run(home, ['--dry-run'])).exitCode).toBe(0)
    const yes = await run(home, ['--yes', '--json'])
    expect(yes.exitCode, yes.stderr).toBe(0)
    expect(yes.json.result.deletedRows).toBe(25)
  })

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

  it('refuses to delete a table\'s newest row (it would empty the table) with exit 2 naming it, unless --allow-empty', async () => {
    const home = tempDir()
    const warehouse = await openTestWarehouse(home)
    for (const start of ['2025-11-20T00:00:00Z', '2025-11-30T23:59:00Z']) await insertCandle(warehouse, '1m', {symbol: 'BTCUSDT', start})
    await insertCandle(warehouse, '5m', {symbol: 'BTCUSDT', start: '2025-11-30T23:55:00Z'})
    warehouse.close()
    const path = join(home, 'warehouse.duckdb')
    const before = await countsOf(path)
    const message = 'retention would empty market_data.gold_ohlcv_1m (all 2 rows, the newest dated 2025-11-30); nothing was deleted (--allow-empty deletes them anyway)'
    const refused = await run(home, ['--yes'])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr.split('\n')[0]).toBe(`k2ops: refusing: ${message}`)
    const dry = await run(home, ['--dry-run', '--json'])
    expect(dry.exitCode).toBe(2)
    expect(dry.json.error).toMatchObject({code: 'would_empty_table', exit: 2, message: `the real run would refuse: ${message}`})
    expect(await countsOf(path)).toEqual(before)
    expect(auditRecords(home)).toEqual([])

    const allowed = await run(home, ['--yes', '--allow-empty', '--json'])
    expect(allowed.exitCode, allowed.stderr).toBe(0)
    expect(allowed.json.result.tables[0]).toMatchObject({table: TIMEFRAME_SPECS['1m'].table, deletedRows: 2, status: 'deleted'})
    expect(await countsOf(path)).toEqual({'5m 2025-11-30': 1})
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
