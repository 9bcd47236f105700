import {readFileSync} from 'node:fs'
import {networkInterfaces} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import type {RunState} from '../../src/pipeline/run-history.js'

import {FINAL_STATES} from '../../src/pipeline/run-history.js'
import {k2ops, k2opsTracingNativeModules} from '../helpers/cli.js'
import {alive, call, holdHomeWarehouse, killDaemonsAfterEach, newHome, startScheduler, token, until} from '../helpers/scheduler-e2e.js'
import {useTempDir} from '../helpers/temp-home.js'
import {insertTrades, openTestWarehouse} from '../helpers/warehouse.js'

// End-to-end with real processes: a detached daemon, its API on 127.0.0.1, flows in child processes. (slow: ~20 s)

killDaemonsAfterEach()

describe('k2ops scheduler (real processes)', () => {
  const tempDir = useTempDir()

  it('start → status → /api/health → trigger through the daemon → runs → stop, and a second start is refused', async () => {
    const home = await newHome(tempDir())
    const {pid, port} = await startScheduler(home)
    expect(alive(pid)).toBe(true)

    const second = await k2ops(['scheduler', 'start', '--home', home])
    expect(second.exitCode).toBe(1)
    expect(second.stderr).toContain(`a scheduler already runs on this home: pid ${pid}`)

    const status = await k2ops(['scheduler', 'status', '--home', home, '--json'])
    expect(status.exitCode).toBe(0)
    expect(status.json).toMatchObject({state: 'running', pid, port})
    expect(status.json.deployments.map((d: {name: string}) => d.name)).toEqual([
      'ohlcv-1m-scheduled',
      'ohlcv-5m-scheduled',
      'ohlcv-30m-scheduled',
      'ohlcv-1h-scheduled',
      'ohlcv-1d-scheduled',
      'maintain-scheduled',
    ])
    // Maintenance is paused by default on DuckDB; the five flows run on their crons.
    expect(status.json.deployments.filter((d: {paused: boolean}) => d.paused).map((d: {name: string}) => d.name)).toEqual(['maintain-scheduled'])
    for (const deployment of status.json.deployments.filter((d: {paused: boolean}) => !d.paused)) expect(Date.parse(deployment.nextRun)).toBeGreaterThan(Date.now() - 1000)

    // health daily sees the daemon: process and API pass.
    const daily = await k2ops(['health', 'daily', '--home', home, '--json'])
    const schedulerChecks = daily.json.checks.filter((check: {name: string}) => check.name.startsWith('scheduler_'))
    expect(schedulerChecks.map((check: {name: string; status: string}) => [check.name, check.status])).toEqual([
      ['scheduler_process', 'pass'],
      ['scheduler_api', 'pass'],
    ])
    expect(schedulerChecks[1].summary).toMatch(new RegExp(`^API on 127\\.0\\.0\\.1:${port} answered in \\d+ ms; 6 deployments$`))

    const health = await call(port, 'GET', '/api/health')
    expect(health.status).toBe(200)
    expect(health.json).toMatchObject({ok: true, pid})
    expect(health.json.uptimeSeconds).toBeGreaterThanOrEqual(0)

    // Two late trades, one older than 1m's 90-day retention: the flow the daemon runs leaves that one out.
    // The 1m deployment ticks every 5 minutes: a tick between the insert and the trigger would take
    // the late trades first, so stay clear of one (let it pass, and its runs end).
    const toTick = 300_000 - (Date.now() % 300_000)
    if (toTick < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, toTick + 2000))
      await until('the scheduled runs of the tick to end', async () => {
        const listed = await k2ops(['runs', '--home', home, '--json'])
        return listed.json.runs.every((r: {state: RunState}) => FINAL_STATES.has(r.state)) || undefined
      }, 120_000)
    }

    const warehouse = await openTestWarehouse(home)
    const daysAgo = (days: number) => Date.now() * 1000 - days * 86_400_000_000
    await insertTrades(warehouse, [
      {id: 'too-old', at: daysAgo(100), price: '50', qty: '1'},
      {id: 'kept', at: daysAgo(2), price: '60', qty: '1'},
    ])
    warehouse.close()

    // trigger goes through the daemon by default when one runs, and waits for the run.
    const trigger = await k2ops(['trigger', '1m', '--home', home, '--json'])
    expect(trigger.exitCode, trigger.stderr).toBe(0)
    const [run] = trigger.json.runs
    expect(run).toMatchObject({flow: 'OHLCV-1m-Pipeline', trigger: 'manual', state: 'Completed', pid, lateWindows: 1, lateBeyondRetention: 1, retentionDays: 90})

    const runs = await k2ops(['runs', '--home', home, '--json'])
    expect(runs.json.runs.find((r: {id: string}) => r.id === run.id)).toMatchObject({state: 'Completed'})

    const stop = await k2ops(['scheduler', 'stop', '--home', home, '--json'])
    expect(stop.exitCode, stop.stderr).toBe(0)
    expect(stop.json).toMatchObject({wasRunning: true, pid, stopped: 'gracefully'})
    expect(alive(pid)).toBe(false)

    const after = await k2ops(['scheduler', 'status', '--home', home, '--json'])
    expect(after.exitCode).toBe(1)
    expect(after.json.state).toBe('stopped')
    const again = await k2ops(['scheduler', 'stop', '--home', home])
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('not running')

    const logs = await k2ops(['scheduler', 'logs', '--home', home, '-n', '200', '--json'])
    const events = logs.json.entries.map((entry: {event: string}) => entry.event)
    expect(events).toEqual(expect.arrayContaining(['scheduler.started', 'scheduler.stopped']))
  })

  it('after kill -9, status says dead, start recovers, and the run that was in flight is marked Crashed', async () => {
    // The flow waits for a warehouse held by another process: it is in flight when the daemon dies.
    const home = await newHome(tempDir(), {lockTimeoutSeconds: 60})
    const {pid, port} = await startScheduler(home)
    const holder = await holdHomeWarehouse(home)
    try {
      const queued = await call(port, 'POST', '/api/deployments/ohlcv-1m-scheduled/run', {token: token(home)})
      expect(queued.status).toBe(201)
      const id = queued.json.flow_run.id
      await until('the run to start', async () => ((await call(port, 'GET', `/api/flow_runs/${id}`)).json.flow_run.state === 'Running' ? true : undefined))

      process.kill(pid, 'SIGKILL')
      await until('the daemon to die', () => (alive(pid) ? undefined : true))
      const dead = await k2ops(['scheduler', 'status', '--home', home, '--json'])
      expect(dead.exitCode).toBe(1)
      expect(dead.json).toMatchObject({state: 'dead', pid})

      const recovered = await startScheduler(home)
      expect(recovered.pid).not.toBe(pid)
      const runs = await k2ops(['runs', '--home', home, '--json'])
      const crashed = runs.json.runs.find((r: {id: string}) => r.id === id)
      expect(crashed).toMatchObject({state: 'Crashed'})
      expect(crashed.error).toContain(String(pid))
    } finally {
      await holder.release()
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // the orphaned flow process is gone already
      }
    }

    expect((await k2ops(['scheduler', 'stop', '--home', home])).exitCode).toBe(0)
  })

  it('the API refuses a POST without or with a wrong token, answers malformed requests with 4xx JSON, and only on loopback', async () => {
    const home = await newHome(tempDir())
    const {port} = await startScheduler(home)
    const path = '/api/deployments/ohlcv-5m-scheduled/run'
    expect(await call(port, 'POST', path)).toMatchObject({status: 401, json: {error: expect.stringContaining('missing bearer token')}})
    expect(await call(port, 'POST', path, {token: 'f'.repeat(64)})).toMatchObject({status: 401, json: {error: 'wrong bearer token'}})
    expect(await call(port, 'POST', path, {token: token(home), body: '{not json'})).toMatchObject({status: 400, json: {error: 'body is not valid JSON'}})
    expect(await call(port, 'GET', '/api/flow_runs?limit=abc')).toMatchObject({status: 400, json: {error: expect.stringContaining('limit')}})
    expect(await call(port, 'POST', '/api/deployments/ohlcv-2m-scheduled/run', {token: token(home)})).toMatchObject({status: 404, json: {error: expect.stringContaining('unknown deployment')}})
    expect(await call(port, 'DELETE', '/api/health')).toMatchObject({status: 405})
    expect(await call(port, 'GET', '/nothing')).toMatchObject({status: 404})
    const runs = await call(port, 'GET', '/api/flow_runs?limit=5')
    expect(runs.status).toBe(200)
    expect(Array.isArray(runs.json.flow_runs)).toBe(true)
    // Still alive after all that.
    expect((await call(port, 'GET', '/api/health')).status).toBe(200)

    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === 'IPv4' && !address.internal)?.address
    if (external) {
      await expect(call(port, 'GET', '/api/health', {host: external})).rejects.toThrow(/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/)
    } else {
      console.warn('no non-loopback IPv4 address on this machine: the loopback-only check was skipped')
    }
  })

  // How fast it answers is bench/answers-while-held.mjs's; here: that it answers, without DuckDB.
  it('status answers while another process holds the warehouse, without loading DuckDB', async () => {
    const home = await newHome(tempDir())
    await startScheduler(home)
    const holder = await holdHomeWarehouse(home)
    try {
      const status = await k2opsTracingNativeModules(['scheduler', 'status', '--home', home, '--json'])
      expect(status.exitCode, status.stderr).toBe(0)
      expect(status.json.state).toBe('running')
      expect(status.nativeModules).toEqual([])
    } finally {
      await holder.release()
    }
  })

  it('install-service prints a unit that runs the foreground scheduler with restart on failure', async () => {
    const home = await newHome(tempDir())
    const unit = await k2ops(['scheduler', 'install-service', '--home', home])
    expect(unit.exitCode).toBe(0)
    expect(unit.stdout).toMatch(/^ExecStart=.*bin\/run\.js scheduler start --foreground --home /m)
    expect(unit.stdout).toContain('Restart=on-failure')
    const target = join(tempDir(), 'k2ops-scheduler.service')
    expect((await k2ops(['scheduler', 'install-service', '--home', home, '--write', target])).exitCode).toBe(0)
    expect(readFileSync(target, 'utf8')).toBe(unit.stdout + '\n')
    expect((await k2ops(['scheduler', 'install-service', '--home', home, '--write', target])).exitCode).toBe(2)
  })

  it('install-service escapes % and $ in paths, refuses a path with a newline, and names the unit as its file', async () => {
    const dir = tempDir()
    const odd = join(dir, '50% $HOME')
    const unit = await k2ops(['scheduler', 'install-service', '--home', odd])
    expect(unit.exitCode, unit.stderr).toBe(0)
    expect(unit.stdout).toContain(`--home "${join(dir, '50%% $$HOME')}"`)
    expect(unit.stdout).toMatch(/^Description=.*\(home .*50%% \$HOME\)$/m)

    const injected = join(dir, 'home\nExecStartPre=/bin/false')
    const refused = await k2ops(['scheduler', 'install-service', '--home', injected])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr.split('\n')[0]).toMatch(/^k2ops: install-service: the home path ".*\\nExecStartPre=\/bin\/false" holds a control character \(U\+000A\) that a systemd unit cannot express$/)
    expect(refused.stdout).not.toContain('ExecStartPre')

    const named = await k2ops(['scheduler', 'install-service', '--home', odd, '--write', join(dir, 'candles.service')])
    expect(named.exitCode, named.stderr).toBe(0)
    expect(named.stdout).toContain('systemctl --user enable --now candles.service')
    expect(named.stdout).not.toContain('k2ops-scheduler')
    const json = await k2ops(['scheduler', 'install-service', '--home', odd, '--write', join(dir, 'other.service'), '--json'])
    expect(json.json).toMatchObject({name: 'other.service', written: join(dir, 'other.service')})
    expect((await k2ops(['scheduler', 'install-service', '--home', odd, '--write', join(dir, 'k2ops.unit')])).exitCode).toBe(2)
  })
})
