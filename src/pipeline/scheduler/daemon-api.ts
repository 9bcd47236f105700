import type {Home} from '../home.js'
import type {RunRecord} from '../run-history.js'
import type {SchedulerClient} from './api-client.js'
import type {SchedulerConnection} from './control.js'

import {setTimeout as sleep} from 'node:timers/promises'

import {ExitCode, K2Error} from '../errors.js'
import {TIMEFRAMES, TIMEFRAME_SPECS} from '../timeframes.js'
import {plural} from '../words.js'
import {connectToScheduler} from './control.js'

// What another k2ops process asks of the running daemon's API: is it whole, and runs queued in it.

export interface ApiOutcome {
  version: string
  pid: number
  deployments: Array<{name: string; paused: boolean; nextRun: string | null}>
}

/** The daemon's API answers /api/health and lists the five deployments of the runbook (and maintenance). */
export async function checkSchedulerApi(home: Pick<Home, 'logsDir' | 'stateDir'>): Promise<ApiOutcome & {client: SchedulerConnection}> {
  const client = await connectToScheduler(home)
  if (!client) throw new K2Error('no scheduler runs on this home', {code: 'scheduler_not_running', exit: ExitCode.failed})
  const health = await client.api.health()
  const {deployments} = await client.api.deployments()
  const expected = TIMEFRAMES.map((tf) => TIMEFRAME_SPECS[tf].deployment)
  const missing = expected.filter((name) => !deployments.some((d) => d.name === name))
  if (missing.length > 0) {
    throw new K2Error(`the scheduler has ${plural(deployments.length, 'deployment')}; missing: ${missing.join(', ')}`, {code: 'deployments_missing', exit: ExitCode.failed})
  }

  return {
    version: health.version,
    pid: health.pid,
    deployments: deployments.map((d) => ({name: d.name, paused: d.paused, nextRun: d.nextRun})),
    client,
  }
}

export interface WaitOptions {
  /** Give up (an error) when the run has not ended by then; no bound when absent. */
  timeoutMs?: number
  /** Told each new state the run is seen in before it ends. */
  onState?: (run: RunRecord) => void
}

/** Polls a queued run until it ends, in whatever state (queued runs wait for the ones before them). */
export async function waitForRun(api: Pick<SchedulerClient, 'flowRun'>, queued: RunRecord, options: WaitOptions = {}): Promise<RunRecord> {
  const {FINAL_STATES} = await import('../run-history.js')
  const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs
  let run = queued
  let seen: string | undefined
  while (!FINAL_STATES.has(run.state)) {
    if (run.state !== seen) options.onState?.(run)
    seen = run.state
    if (deadline !== undefined && Date.now() > deadline) {
      throw new K2Error(`run ${run.id} of ${run.flow} did not end within ${Math.round(options.timeoutMs! / 1000)} s (state ${run.state})`, {code: 'run_timeout', exit: ExitCode.failed})
    }

    await sleep(250)
    run = (await api.flowRun(run.id)).flow_run
  }

  return run
}

/**
 * Queues a run of `deployment` in the daemon and waits until it ends (e.g. behind catch-up runs
 * after downtime). A run that ends in any state but Completed, or not within `timeoutMs`, is an error.
 */
export async function runThroughScheduler(connection: SchedulerConnection, deployment: string, timeoutMs: number, onState?: (run: RunRecord) => void): Promise<RunRecord> {
  const queued = (await connection.api.run(deployment)).flow_run
  const run = await waitForRun(connection.api, queued, {timeoutMs, onState})
  if (run.state !== 'Completed') {
    throw new K2Error(`${run.flow} run ${run.id} ended ${run.state}${run.error ? `: ${run.error}` : ''}`, {code: 'run_failed', exit: ExitCode.failed})
  }

  return run
}
