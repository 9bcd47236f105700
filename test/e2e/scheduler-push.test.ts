import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'

import type {RunRecord} from '../../src/pipeline/run-history.js'

import {k2ops} from '../helpers/cli.js'
import {call, holdHomeWarehouse, killDaemonsAfterEach, newHome, startScheduler, token, until} from '../helpers/scheduler-e2e.js'
import {useTempDir} from '../helpers/temp-home.js'

// What the daemon does for the people who cannot watch it: cancel a run, and GET /metrics. Real
// daemon, flows in child processes, HTTP on 127.0.0.1. (slow: ~20 s)

killDaemonsAfterEach()

interface MetricFamily {
  name: string
  type: string
  metrics: Array<{labels?: Record<string, string>; value?: string}>
}

/** The flow processes running for this home's scheduler (found by their command line). */
function flowProcesses(home: string): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (cmdline.includes('--run-by-scheduler') && cmdline.includes(home)) found.push(Number(entry))
    } catch {
      // ended meanwhile
    }
  }

  return found
}

describe.runIf(existsSync('/proc/self/cmdline'))('k2ops runs cancel and /metrics on a real scheduler', () => {
  const tempDir = useTempDir()

  it('cancels a queued run (it never starts) and the running one (its process stopped), each recorded Cancelled by who asked', async () => {
    // The 1m flow waits for a warehouse held by another process: it is Running until it is cancelled.
    const home = await newHome(tempDir(), {lockTimeoutSeconds: 120})
    const {port} = await startScheduler(home)
    const holder = await holdHomeWarehouse(home)
    try {
      const running = (await call(port, 'POST', '/api/deployments/ohlcv-1m-scheduled/run', {token: token(home)})).json.flow_run as RunRecord
      await until('the 1m run to start', async () => ((await call(port, 'GET', `/api/flow_runs/${running.id}`)).json.flow_run.state === 'Running' ? true : undefined))
      const queued = (await call(port, 'POST', '/api/deployments/ohlcv-5m-scheduled/run', {token: token(home)})).json.flow_run as RunRecord
      expect(queued.state).toBe('Scheduled')
      const [flow] = await until('the flow process', () => (flowProcesses(home).length > 0 ? flowProcesses(home) : undefined))
      expect(flow).toBeGreaterThan(0)

      // Without the token the API refuses, and nothing changes.
      expect((await call(port, 'POST', `/api/flow_runs/${queued.id}/cancel`)).status).toBe(401)

      const dequeued = await k2ops(['runs', 'cancel', queued.id.slice(0, 8), '--home', home])
      expect(dequeued.exitCode, dequeued.stderr).toBe(0)
      expect(dequeued.stdout).toBe(`Cancelled OHLCV-5m-Pipeline run ${queued.id}: removed from the scheduler's queue before it started.`)

      const stopped = await k2ops(['runs', 'cancel', running.id, '--home', home, '--json'])
      expect(stopped.exitCode, stopped.stderr).toBe(0)
      expect(stopped.json).toMatchObject({how: 'scheduler', run: {id: running.id, state: 'Cancelled', cancelledBy: expect.stringContaining('(k2ops runs cancel)')}})
      expect(stopped.json.run.error).toMatch(/^cancelled by .+ \(k2ops runs cancel\)$/)
      await until('the flow process to be gone', () => (flowProcesses(home).length === 0 ? true : undefined))

      // The slot is free: a run asked for now starts at once (and waits for the warehouse, as the first did).
      const next = (await call(port, 'POST', '/api/deployments/ohlcv-1h-scheduled/run', {token: token(home)})).json.flow_run as RunRecord
      await until('the next run to start', async () => ((await call(port, 'GET', `/api/flow_runs/${next.id}`)).json.flow_run.state === 'Running' ? true : undefined))
      expect((await call(port, 'POST', `/api/flow_runs/${next.id}/cancel`, {token: token(home), body: '{"by": "a playbook"}'})).status).toBe(202)

      const runs = await k2ops(['runs', '--home', home, '--json'])
      const byId = new Map((runs.json.runs as RunRecord[]).map((run) => [run.id, run]))
      expect(byId.get(queued.id)).toMatchObject({state: 'Cancelled', note: expect.stringMatching(/before it started$/)})
      expect(byId.get(queued.id)!.attempt).toBeUndefined()
      expect(byId.get(running.id)).toMatchObject({state: 'Cancelled', cancelledAt: expect.any(String)})
      const again = await k2ops(['runs', 'cancel', running.id, '--home', home])
      expect(again.exitCode).toBe(0)
      expect(again.stdout).toContain('it was cancelled before; nothing to do')

      const show = await k2ops(['runs', 'show', running.id.slice(0, 8), '--home', home])
      expect(show.exitCode, show.stderr).toBe(0)
      expect(show.stdout.split('\n')[0]).toMatch(new RegExp(`^Run ${running.id}: Cancelled in \\d+\\.\\d\\d s$`))
      expect(show.stdout).toMatch(/^ {2}cancelled by: +\S+ \(k2ops runs cancel\)$/m)
      expect(show.stdout).toMatch(/^ {2}error: +cancelled by /m)

      // scheduler logs narrows to one run, a level, a time.
      const about = await k2ops(['scheduler', 'logs', '--run', running.id.slice(0, 8), '-n', '100', '--home', home, '--json'])
      expect(about.exitCode, about.stderr).toBe(0)
      const entries = about.json.entries as Array<{event: string; runId?: string; id?: string; level: string}>
      expect(entries.every((entry) => (entry.runId ?? entry.id) === running.id)).toBe(true)
      expect(entries.map((entry) => entry.event)).toEqual(expect.arrayContaining(['run.scheduled', 'run.started', 'run.cancel_requested', 'run.cancelled']))
      const warnings = await k2ops(['scheduler', 'logs', '--level', 'warn', '-n', '100', '--home', home, '--json'])
      expect((warnings.json.entries as Array<{level: string}>).every((entry) => ['warn', 'error'].includes(entry.level))).toBe(true)
      const later = await k2ops(['scheduler', 'logs', '--since', '+1h', '--home', home])
      expect(later.exitCode).toBe(0)
      expect(later.stdout).toMatch(/^No line of .+scheduler\.log matches \(\d+ lines in it\)\.$/)
      const recent = await k2ops(['scheduler', 'logs', '--since', '10m', '--level', 'info', '-n', '1', '--home', home])
      expect(recent.stdout).toMatch(/^\S+ (INFO|WARN|ERROR) +\S+/)
      const bad = await k2ops(['scheduler', 'logs', '--since', 'yesterday', '--home', home])
      expect(bad.exitCode).toBe(2)
      expect(bad.stderr.split('\n')[0]).toMatch(/^k2ops: --since: /)
    } finally {
      await holder.release()
    }
  })

  it('serves /metrics in Prometheus text format, agreeing with k2ops runs --json', async () => {
    const home = await newHome(tempDir())
    const {port} = await startScheduler(home, ['--no-catch-up'])
    for (const timeframe of ['1m', '1m', '5m']) {
      const trigger = await k2ops(['trigger', timeframe, '--home', home, '--json'])
      expect(trigger.exitCode, trigger.stderr).toBe(0)
    }

    const scrape = await fetch(`http://127.0.0.1:${port}/metrics`)
    expect(scrape.status).toBe(200)
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await scrape.text()
    const families = parsePrometheusTextFormat(text) as MetricFamily[]
    const family = (name: string) => families.find((candidate) => candidate.name === name)

    const runs = (await k2ops(['runs', '--home', home, '--json', '--limit', '1000'])).json
    const ended = (runs.runs as RunRecord[]).filter((run) => !['Scheduled', 'Running'].includes(run.state))
    const expected = new Map<string, number>()
    for (const run of ended) expected.set(`${run.flow} ${run.state}`, (expected.get(`${run.flow} ${run.state}`) ?? 0) + 1)
    const counted = new Map(family('k2ops_flow_runs_total')!.metrics.map((metric) => [`${metric.labels!.flow} ${metric.labels!.state}`, Number(metric.value)]))
    expect(counted).toEqual(expected)
    expect(counted.get('OHLCV-1m-Pipeline Completed')).toBe(2)

    // The parser merges a histogram's label sets: its samples are read from the text.
    expect(family('k2ops_flow_run_duration_seconds')!.type).toBe('HISTOGRAM')
    expect(text).toContain('\nk2ops_flow_run_duration_seconds_count{flow="OHLCV-1m-Pipeline"} 2\n')
    expect(text).toContain('\nk2ops_flow_run_duration_seconds_bucket{le="+Inf",flow="OHLCV-5m-Pipeline"} 1\n')

    const lastSuccess = family('k2ops_flow_last_success_timestamp_seconds')!.metrics.find((metric) => metric.labels?.flow === 'OHLCV-5m-Pipeline')!
    const fiveMinute = ended.find((run) => run.flow === 'OHLCV-5m-Pipeline')!
    expect(Number(lastSuccess.value)).toBe(Date.parse(fiveMinute.endedAt!) / 1000)
    expect(family('k2ops_queue_length')!.metrics[0].value).toBe('0')
    expect(family('k2ops_running_run_age_seconds')!.metrics).toEqual([])
    expect(family('k2ops_scheduler_process_resident_memory_bytes')).toBeDefined()

    // Read-only: anything but GET is refused.
    expect((await call(port, 'POST', '/metrics', {token: token(home)})).status).toBe(405)
  })
})
