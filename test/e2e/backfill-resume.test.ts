import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import type {BackfillLedger} from '../../src/pipeline/backfill-ledger.js'

import {homeWithTrades} from '../helpers/backfill-home.js'
import {k2ops} from '../helpers/cli.js'
import {killWhenStderr} from '../helpers/kill-at.js'
import {killDaemonsAfterEach, startScheduler, until} from '../helpers/scheduler-e2e.js'
import {useTempDir} from '../helpers/temp-home.js'

// A backfill's per-day status: a dry run that changes nothing, a kill that keeps the days done, a
// resume that redoes only the others, and the candles of one clean run at the end. (slow: ~20 s)

const env = {K2OPS_NOW: '2024-12-01T00:00:00Z'}

killDaemonsAfterEach()
const RANGE = ['--timeframe', 'all', '--from', '2024-06-01', '--to', '2024-11-01']
/** A month: the scheduler runs it as 30 units, a process each. */
const MONTH = ['--timeframe', 'all', '--from', '2024-06-01', '--to', '2024-07-01']

async function dailyCandles(home: string): Promise<unknown> {
  const result = await k2ops(['candles', 'BTCUSDT', '--exchange', 'BINANCE', '--timeframe', '1d', '--from', '2024-06-01', '--to', '2024-11-01', '--limit', '1000', '--home', home, '--json'], env)
  expect(result.exitCode, result.stderr).toBe(0)
  return result.json
}

describe('backfill --dry-run, status and --resume', () => {
  const tempDir = useTempDir()

  it('a dry run lists each day with its trades and stored candles and changes nothing', async () => {
    const home = await homeWithTrades(tempDir(), env)
    const dry = await k2ops(['backfill', ...RANGE, '--dry-run', '--home', home, '--json'], env)
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.json.days).toHaveLength(150)
    // The oldest days are before the 1m and 5m retention cutoffs: those timeframes are left out there.
    expect(dry.json.days[0]).toEqual({day: '2024-06-01', timeframes: ['30m', '1h', '1d'], trades: 1, candlesStored: 0})
    expect(dry.json.days.at(-1)).toEqual({day: '2024-10-28', timeframes: ['1m', '5m', '30m', '1h', '1d'], trades: 1, candlesStored: 0})
    const text = await k2ops(['backfill', ...RANGE, '--dry-run', '--home', home], env)
    expect(text.stdout).toMatch(/^Dry run: would rebuild 1m, 5m, 30m, 1h, 1d over 150 days \(150 trades; 0 candles stored there now would be replaced\)\. Nothing was changed\.\nDAY +TRADES +CANDLES NOW +TIMEFRAMES\n2024-06-01 +1 +0 +30m,1h,1d\n/)
    // No run recorded, no backfill kept, no candle written.
    expect(existsSync(join(home, 'state', 'backfills'))).toBe(false)
    expect((await k2ops(['runs', '--home', home, '--json'], env)).json.runs).toEqual([])
    expect((await dailyCandles(home)) as {candles: unknown[]}).toMatchObject({candles: []})
  })

  it('a backfill killed mid-way: status shows the days done and the rest pending; --resume redoes only those, and the candles are a clean run\'s', async () => {
    const dir = tempDir()
    for (const sub of ['killed', 'clean']) mkdirSync(join(dir, sub))
    const home = await homeWithTrades(join(dir, 'killed'), env)
    const killed = await killWhenStderr(['backfill', ...RANGE, '--home', home], env, /\b(1[0-9]|[2-9]\d)\/150 days/)
    expect(killed.signal).toBe('SIGKILL')

    const status = await k2ops(['backfill', 'status', '--home', home, '--json'], env)
    expect(status.exitCode, status.stderr).toBe(0)
    const {counts} = status.json
    expect(counts.done).toBeGreaterThanOrEqual(10)
    expect(counts.done).toBeLessThan(150)
    expect(counts).toEqual({done: counts.done, running: 0, pending: 150 - counts.done, failed: 0, total: 150})
    expect(status.json.lastRun.state).toBe('Crashed')
    const id = (status.json.backfill as BackfillLedger).id
    const text = await k2ops(['backfill', 'status', id.slice(0, 8), '--home', home], env)
    expect(text.stdout.split('\n').slice(0, 2)).toEqual([
      `Backfill ${id}: 1m, 5m, 30m, 1h, 1d 2024-06-01T00:00:00Z → 2024-11-01T00:00:00Z (last run Crashed)`,
      `[${'#'.repeat(Math.round((counts.done / 150) * 20)).padEnd(20, '-')}] ${counts.done}/150 days done · 0 running · ${150 - counts.done} pending · 0 failed`,
    ])
    expect(text.stdout).toContain(`Next: k2ops backfill --resume ${id.slice(0, 8)} --home ${home} redoes the ${150 - counts.done} days not done.`)

    const resumed = await k2ops(['backfill', '--resume', id.slice(0, 8), '--home', home, '--json'], env)
    expect(resumed.exitCode, resumed.stderr).toBe(0)
    expect(resumed.json).toMatchObject({id, days: 150, daysDoneBefore: counts.done})
    const after = (await k2ops(['backfill', 'status', id, '--home', home, '--json'], env)).json
    expect(after.counts).toEqual({done: 150, running: 0, pending: 0, failed: 0, total: 150})
    // Only the missing days were redone: the resume's run did exactly those.
    const ledger = after.backfill as BackfillLedger
    expect(ledger.runs).toHaveLength(2)
    expect(ledger.days.filter((day) => day.runId === ledger.runs[1])).toHaveLength(150 - counts.done)
    expect(ledger.days.filter((day) => day.runId === ledger.runs[0])).toHaveLength(counts.done)
    expect((await k2ops(['runs', '--home', home, '--json'], env)).json.runs.find((run: {id: string}) => run.id === ledger.runs[1])).toMatchObject({state: 'Completed', note: `resumes backfill ${id}`})

    const again = await k2ops(['backfill', '--resume', id, '--home', home], env)
    expect(again.stdout).toBe(`Nothing to resume: all 150 days of backfill ${id} are done.`)

    const clean = await homeWithTrades(join(dir, 'clean'), env)
    expect((await k2ops(['backfill', ...RANGE, '--home', clean], env)).exitCode).toBe(0)
    expect(await dailyCandles(home)).toEqual(await dailyCandles(clean))
    expect(readdirSync(join(home, 'state', 'backfills'))).toEqual([`${id}.json`])
  })

  it('--via-scheduler: the daemon runs it a day at a time, a killed daemon goes on after a restart with the days not done, and the candles are a clean run\'s', async () => {
    const dir = tempDir()
    for (const sub of ['managed', 'clean']) mkdirSync(join(dir, sub))
    const home = await homeWithTrades(join(dir, 'managed'), env)
    writeFileSync(join(home, 'config.json'), JSON.stringify({scheduler: {port: 0, freshnessSeconds: 0}}))
    const none = await k2ops(['backfill', ...MONTH, '--via-scheduler', '--home', home], env)
    expect(none.exitCode).toBe(2)
    expect(none.stderr).toMatch(/^k2ops: no scheduler runs on this home\nhint: k2ops scheduler start, or backfill without --via-scheduler/)

    const first = await startScheduler(home, [], env)
    const queued = await k2ops(['backfill', ...MONTH, '--via-scheduler', '--home', home, '--json'], env)
    expect(queued.exitCode, queued.stderr).toBe(0)
    expect(queued.json).toMatchObject({queued: true, days: 30, daysLeft: 30})
    const {id} = queued.json as {id: string}
    const status = async () => (await k2ops(['backfill', 'status', id, '--home', home, '--json'], env)).json as {counts: {done: number}; backfill: BackfillLedger}
    const before = await until('some days done', async () => ((await status()).counts.done >= 5 ? (await status()).counts.done : undefined), 60_000)
    process.kill(-first.pid, 'SIGKILL')
    process.kill(first.pid, 'SIGKILL')
    const atKill = (await status()).counts.done
    expect(atKill).toBeGreaterThanOrEqual(before)

    await startScheduler(home, [], env)
    const finished = await until('the backfill to finish', async () => {
      const now = await status()
      return now.counts.done === 30 && now.backfill.managed?.state === 'done' ? now : undefined
    }, 120_000)
    // A unit does one day: each day was done by a unit of its own (the one the kill caught either
    // committed its day, and reads Crashed, or did not, and its day was done after the restart).
    const runs = (await k2ops(['runs', '--home', home, '--json', '--limit', '1000'], env)).json.runs as Array<{id: string; deployment: string; state: string}>
    const units = new Set(runs.filter((run) => run.deployment === `backfill-${id.slice(0, 8)}`).map((run) => run.id))
    const doers = finished.backfill.days.map((day) => day.runId!)
    expect(new Set(doers).size).toBe(30)
    expect(doers.filter((runId) => !units.has(runId))).toEqual([])
    expect(units.size).toBeLessThanOrEqual(31)
    await k2ops(['scheduler', 'stop', '--home', home])

    const clean = await homeWithTrades(join(dir, 'clean'), env)
    expect((await k2ops(['backfill', ...MONTH, '--home', clean], env)).exitCode).toBe(0)
    expect(await dailyCandles(home)).toEqual(await dailyCandles(clean))
  }, 180_000)

  it('--resume of an unknown id, or with a range, exits 2 naming what is wrong', async () => {
    const home = await homeWithTrades(tempDir(), env)
    const unknown = await k2ops(['backfill', '--resume', 'deadbeef', '--home', home], env)
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toMatch(/^k2ops: no backfill 'deadbeef' in \S+backfills/)
    const mixed = await k2ops(['backfill', '--resume', 'deadbeef', '--timeframe', '1m', '--home', home], env)
    expect(mixed.exitCode).toBe(2)
    expect(mixed.stderr).toMatch(/--timeframe=1m cannot also be provided when using --resume/)
    const none = await k2ops(['backfill', '--from', '2024-06-01', '--home', home], env)
    expect(none.exitCode).toBe(2)
    expect(none.stderr.trim()).toBe('k2ops: backfill: missing --timeframe (see --help)')
  })
})
