import {execa} from 'execa'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, describe, expect, it} from 'vitest'

import type {RunRecord} from '../../src/pipeline/run-history.js'

import {isProcessRunning} from '../../src/pipeline/process-owner.js'
import {homeWithTrades} from '../helpers/backfill-home.js'
import {BIN, k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'
import {holdWarehouse} from '../helpers/warehouse-holder.js'

// Runs whose process died: real processes killed with SIGKILL and SIGTERM. (slow: ~30 s)

const NOW = '2024-12-01T00:00:00Z'
const env = {K2OPS_NOW: NOW}

/** Processes a test started: killed after it, whatever it did. */
const started: number[] = []
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
})

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Every line of the run history as stored (not as the readers show it). */
function storedLines(home: string): RunRecord[] {
  const file = join(home, 'state', 'runs.jsonl')
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunRecord)
}

/** Each run's last stored line. */
function lastLines(home: string): Map<string, RunRecord> {
  return new Map(storedLines(home).map((run) => [run.id, run]))
}

const lastStored = (home: string, id: string) => lastLines(home).get(id)
const runningIn = (home: string) => [...lastLines(home).values()].find((run) => run.state === 'Running')


const BACKFILL = ['backfill', '--timeframe', 'all', '--from', '2024-06-01', '--to', '2024-11-01']

function startBackfill(home: string, options: {json?: boolean} = {}) {
  const child = execa('node', [BIN, ...BACKFILL, '--home', home, ...(options.json === false ? [] : ['--json'])], {reject: false, env: {NO_COLOR: '1', ...env}})
  started.push(child.pid!)
  return child
}

/** Resolves once the backfill's progress line (stderr, without --json) says `days` days are done. */
function daysDone(backfill: ReturnType<typeof startBackfill>, days: number): Promise<number> {
  let text = ''
  return new Promise((resolve, reject) => {
    backfill.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const done = [...text.matchAll(/(\d+)\/150 days/g)].map((match) => Number(match[1]))
      if (done.length > 0 && Math.max(...done) >= days) resolve(Math.max(...done))
    })
    void backfill.then(() => reject(new Error(`the backfill ended before ${days} days were done:\n${text}`)))
  })
}

const KEPT = /^kept: (\d+) of 150 days done \(2024-06-01 … 2024-\d\d-\d\d\)$/

describe('runs whose process is gone', () => {
  const tempDir = useTempDir()

  it('a backfill killed with SIGKILL reads Crashed in runs, and health daily counts it', async () => {
    const home = await homeWithTrades(tempDir(), env)
    const backfill = startBackfill(home)
    const run = await until('the backfill to be Running', () => runningIn(home))
    expect(run).toMatchObject({flow: 'backfill', pid: backfill.pid})
    const killedAt = Date.now()
    process.kill(backfill.pid!, 'SIGKILL')
    expect((await backfill).signal).toBe('SIGKILL')
    expect(lastStored(home, run.id)?.state).toBe('Running')

    // Crashed when its process was last seen alive (its heartbeat), not when somebody looked.
    const runs = await k2ops(['runs', '--home', home, '--json'], env)
    const crashed = runs.json.runs.find((r: RunRecord) => r.id === run.id) as RunRecord
    expect(crashed).toMatchObject({state: 'Crashed', error: `process ${backfill.pid} ended while the run was Running (last seen alive at ${crashed.endedAt})`})
    expect(Date.parse(crashed.endedAt!)).toBeLessThanOrEqual(killedAt)
    expect(Date.parse(crashed.endedAt!)).toBeGreaterThanOrEqual(Date.parse(run.startedAt))
    expect(crashed.durationMs).toBe(Date.parse(crashed.endedAt!) - Date.parse(run.startedAt))
    const crashedOnly = await k2ops(['runs', '--home', home, '--state', 'Crashed', '--json'], env)
    expect(crashedOnly.json.runs.map((r: RunRecord) => r.id)).toEqual([run.id])

    const daily = await k2ops(['health', 'daily', '--home', home, '--json'], env)
    const rate = daily.json.checks.find((check: {name: string}) => check.name === 'run_success_rate')
    expect(rate).toMatchObject({status: 'fail', value: 0})
  })

  it('a trigger left Running by a dead process reads Crashed in scheduler status', async () => {
    const home = await homeWithTrades(tempDir(), env)
    const dead = spawnSync('true').pid!
    const record = {id: 'left-running', flow: 'OHLCV-1m-Pipeline', deployment: 'ohlcv-1m-scheduled', timeframe: '1m', trigger: 'manual', state: 'Running', startedAt: '2024-11-30T23:50:00.000Z', pid: dead, warehouse: join(home, 'warehouse.duckdb')}
    mkdirSync(join(home, 'state'), {recursive: true})
    writeFileSync(join(home, 'state', 'runs.jsonl'), JSON.stringify(record) + '\n')
    const status = await k2ops(['scheduler', 'status', '--home', home, '--json'], env)
    expect(status.json.deployments.find((d: {name: string}) => d.name === 'ohlcv-1m-scheduled').lastRun).toMatchObject({id: 'left-running', state: 'Crashed'})
  })

  it('a backfill stopped with SIGTERM records its run Cancelled before it ends', async () => {
    const home = await homeWithTrades(tempDir(), env)
    const backfill = startBackfill(home)
    const run = await until('the backfill to be Running', () => runningIn(home))
    process.kill(backfill.pid!, 'SIGTERM')
    expect((await backfill).signal).toBe('SIGTERM')
    expect(lastStored(home, run.id)).toMatchObject({state: 'Cancelled', error: 'stopped by SIGTERM before it finished'})
    const runs = await k2ops(['runs', '--home', home, '--json'], env)
    expect(runs.json.runs.find((r: RunRecord) => r.id === run.id)?.state).toBe('Cancelled')
  })
})

describe('a scheduler killed with SIGKILL', () => {
  const tempDir = useTempDir()

  /** The flow process a scheduler runs for this home (found by its command line). */
  function flowProcess(home: string): number | undefined {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
        if (cmdline.includes('--run-by-scheduler') && cmdline.includes(home)) return Number(entry)
      } catch {
        // ended meanwhile
      }
    }

    return undefined
  }

  it.runIf(existsSync('/proc/self/stat'))('leaves no flow process behind, and a scheduler started at once marks its run Crashed', async () => {
    const dir = tempDir()
    const home = join(dir, 'home')
    expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
    writeFileSync(join(home, 'config.json'), JSON.stringify({scheduler: {port: 0}, lockTimeoutSeconds: 120}))
    // The flow waits for a warehouse another process holds: it is in flight when its scheduler dies.
    const holder = await holdWarehouse(join(home, 'warehouse.duckdb'), 'test hold')
    // In the foreground, as this test's child: the test decides when the killed daemon is reaped.
    const daemon = execa('node', [BIN, 'scheduler', 'start', '--foreground', '--no-catch-up', '--home', home], {reject: false, env: {NO_COLOR: '1'}})
    started.push(daemon.pid!)
    try {
      const stateFile = join(home, 'state', 'scheduler.json')
      const port = await until('the API', () => (existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as {port?: number}).port : undefined))
      const token = readFileSync(join(home, 'state', 'scheduler.token'), 'utf8').trim()
      const queue = (deployment: string) => fetch(`http://127.0.0.1:${port}/api/deployments/${deployment}/run`, {method: 'POST', headers: {authorization: `Bearer ${token}`}})
      expect((await queue('ohlcv-1m-scheduled')).status).toBe(201)
      const run = await until('the run to be Running', () => runningIn(home))
      // Queued behind it: only the next scheduler can record this one.
      const waiting = (await (await queue('ohlcv-5m-scheduled')).json()) as {flow_run: RunRecord}
      expect(waiting.flow_run.state).toBe('Scheduled')
      const flow = await until('the flow process', () => flowProcess(home))
      started.push(flow)

      process.kill(daemon.pid!, 'SIGKILL')
      // Blocks this process, so the killed daemon stays unreaped (a zombie) while the next one starts.
      const restart = spawnSync('node', [BIN, 'scheduler', 'start', '--no-catch-up', '--home', home, '--json'], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})
      expect(restart.status, restart.stderr).toBe(0)
      const second = JSON.parse(restart.stdout) as {pid: number}
      started.push(second.pid)
      const logs = await k2ops(['scheduler', 'logs', '--home', home, '-n', '200', '--json'])
      expect(logs.json.entries.filter((entry: {event: string}) => entry.event === 'run.crashed').map((entry: {id: string}) => entry.id)).toContain(waiting.flow_run.id)
      expect(lastStored(home, waiting.flow_run.id)).toMatchObject({state: 'Crashed', error: expect.stringMatching(new RegExp(`^process ${daemon.pid} ended while the run was Scheduled \\(last seen alive at \\S+Z\\)$`))})

      await until('the orphaned flow process to end', () => (isProcessRunning(flow) ? undefined : true), 15_000)
      expect(lastStored(home, run.id)).toMatchObject({state: 'Crashed', error: expect.stringContaining(String(daemon.pid))})
      expect((await k2ops(['scheduler', 'stop', '--home', home])).exitCode).toBe(0)
    } finally {
      await holder.release()
    }
  })
})

describe('runs interrupted by the user', () => {
  const tempDir = useTempDir()

  it('Ctrl-C (SIGINT) during a backfill: exit 130, run Cancelled, the days kept named, and health daily does not count it', async () => {
    const home = await homeWithTrades(tempDir(), env)
    const backfill = startBackfill(home, {json: false})
    await daysDone(backfill, 2)
    process.kill(backfill.pid!, 'SIGINT')
    const result = await backfill
    expect(result.exitCode, result.stderr).toBe(130)

    const run = [...lastLines(home).values()].find((candidate) => candidate.flow === 'backfill')!
    expect(run).toMatchObject({state: 'Cancelled', error: 'stopped by SIGINT (Ctrl-C) before it finished', note: expect.stringMatching(KEPT)})
    const kept = Number(KEPT.exec(run.note!)![1])
    expect(kept).toBeGreaterThanOrEqual(2)
    expect(kept).toBeLessThan(150)
    expect(result.stderr).toContain(`k2ops: backfill run ${run.id.slice(0, 8)} stopped by SIGINT (Ctrl-C) before it finished; recorded Cancelled. Kept: ${run.note!.slice('kept: '.length)}; rerun \`k2ops backfill --resume ${run.id.slice(0, 8)} --home ${home}\` to finish.`)

    // A cancel is not a failure: the success rate has no finished run to count.
    const daily = await k2ops(['health', 'daily', '--home', home, '--json'], env)
    expect(daily.json.checks.find((check: {name: string}) => check.name === 'run_success_rate')).toMatchObject({status: 'warn', summary: 'no finished flow runs in the last 24 h'})
  })

  it('Ctrl-C during a recover: exit 130, the audit records it cancelled with the ranges repaired, and the message says how to finish', async () => {
    const home = await homeWithTrades(tempDir(), env)
    const args = ['recover', '--timeframe', 'all', '--from', '2024-06-01', '--to', '2024-11-01', '--yes', '--home', home]
    const recover = execa('node', [BIN, ...args], {reject: false, env: {NO_COLOR: '1', ...env}})
    started.push(recover.pid!)
    await new Promise<void>((resolve) => {
      let text = ''
      recover.stderr!.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        if (/\((?:[3-9]|\d\d+)\/\d+\)/.test(text)) resolve()
      })
    })
    process.kill(recover.pid!, 'SIGINT')
    const result = await recover
    expect(result.exitCode, result.stderr).toBe(130)
    const lines = readFileSync(join(home, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as {id: string; outcome: string; error?: string; details: {applied: {pieces: number}}})
    const last = lines.at(-1)!
    expect(last).toMatchObject({outcome: 'cancelled', error: 'stopped by SIGINT (Ctrl-C) before it finished'})
    const kept = last.details.applied.pieces
    expect(kept).toBeGreaterThanOrEqual(3)
    expect(result.stderr).toMatch(new RegExp(`k2ops: recover stopped by SIGINT \\(Ctrl-C\\) before it finished; recorded cancelled \\(audit ${last.id.slice(0, 8)}\\)\\. Kept: ${kept} of \\d+ ranges repaired; rerun \`k2ops ${args.join(' ')}\` to finish\\.`))
    // A cancelled recover is not an interrupted one: the next run does not report it as killed.
    const again = await k2ops([...args, '--json'], env)
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.json.interrupted).toEqual([])
  })

  it('k2ops runs cancel stops a backfill running in another terminal; rerunning it gives the candles of one clean run', async () => {
    const dir = tempDir()
    for (const sub of ['cancelled', 'clean']) mkdirSync(join(dir, sub))
    const home = await homeWithTrades(join(dir, 'cancelled'), env)
    const backfill = startBackfill(home, {json: false})
    await daysDone(backfill, 2)
    const run = runningIn(home)!
    const cancel = await k2ops(['runs', 'cancel', run.id.slice(0, 8), '--home', home], env)
    expect(cancel.exitCode, cancel.stderr).toBe(0)
    expect((await backfill).signal).toBe('SIGTERM')
    const stored = lastStored(home, run.id)!
    expect(stored).toMatchObject({state: 'Cancelled', error: 'stopped by SIGTERM before it finished', cancelledBy: expect.stringMatching(/ \(k2ops runs cancel\)$/), note: expect.stringMatching(KEPT)})
    expect(cancel.stdout).toBe(`Cancelled backfill run ${run.id}: its process stopped on SIGTERM.\nKept: ${stored.note!.slice('kept: '.length)}; rerun the same command to finish.`)

    const rerun = await k2ops([...BACKFILL, '--home', home, '--json'], env)
    expect(rerun.exitCode, rerun.stderr).toBe(0)
    const clean = await homeWithTrades(join(dir, 'clean'), env)
    expect((await k2ops([...BACKFILL, '--home', clean, '--json'], env)).exitCode).toBe(0)
    for (const timeframe of ['1m', '1d']) {
      const candles = async (target: string) => (await k2ops(['candles', 'BTCUSDT', '--timeframe', timeframe, '--limit', '1000', '--home', target, '--json'], env)).json.candles
      const [after, once] = await Promise.all([candles(home), candles(clean)])
      // 1m keeps 90 days (retention): fewer than the 150 days of 1d.
      expect(after.length).toBeGreaterThan(50)
      expect(after).toEqual(once)
    }
  })

  it('runs show prints a run in full; runs cancel refuses a run that ended and an unknown id, in one line', async () => {
    const home = await homeWithTrades(tempDir(), env)
    const done = await k2ops([...BACKFILL, '--home', home, '--json'], env)
    expect(done.exitCode, done.stderr).toBe(0)
    const run = [...lastLines(home).values()].find((candidate) => candidate.flow === 'backfill')!

    const show = await k2ops(['runs', 'show', run.id.slice(0, 8), '--home', home], env)
    expect(show.exitCode, show.stderr).toBe(0)
    expect(show.stdout).toMatch(new RegExp(`^Run ${run.id}: Completed in \\d+\\.\\d\\d s\n {2}flow: +backfill\n`))
    expect(show.stdout).toMatch(/^ {2}candles: +\d+$/m)
    expect((await k2ops(['runs', 'show', run.id, '--home', home, '--json'], env)).json.run).toEqual(run)

    const ended = await k2ops(['runs', 'cancel', run.id, '--home', home], env)
    expect(ended.exitCode).toBe(1)
    expect(ended.stderr.trim()).toMatch(new RegExp(`^k2ops: run ${run.id} already ended Completed at \\S+: nothing to cancel$`))
    const unknown = await k2ops(['runs', 'cancel', 'deadbeef', '--home', home], env)
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr.split('\n')[0]).toBe(`k2ops: no run 'deadbeef' in ${join(home, 'state', 'runs.jsonl')}`)
    const short = await k2ops(['runs', 'show', 'abc', '--home', home], env)
    expect(short.exitCode).toBe(2)
    expect(short.stderr.split('\n')[0]).toBe("k2ops: run id 'abc': give at least 8 characters of it")
  })
})
