import type {Home} from './home.js'
import type {RunRecord} from './run-history.js'
import type {SchedulerClient} from './scheduler/api-client.js'

import {setTimeout as sleep} from 'node:timers/promises'

import {ExitCode, K2Error} from './errors.js'
import {TIMEFRAMES, TIMEFRAME_SPECS} from './timeframes.js'
import {firstLine, plural} from './words.js'

// The home's scheduler driven from another k2ops process: its commands (stop, start) and its API.

/** What a k2ops child process of this command needs: the CLI's entry point and the home. */
export interface CliContext {
  /** bin/run.js of this installation (process.argv[1]). */
  bin: string
  home: Home
}

export interface StopOutcome {
  wasRunning: boolean
  pid: number | null
  stopped: 'gracefully' | 'killed' | null
  /** A pid file left by a dead scheduler was removed. */
  stalePidFile: boolean
}

/**
 * Stops the scheduler of the home the way `k2ops scheduler stop` does (its API, else SIGTERM; killed
 * after the timeout; a pid file left by a dead daemon is removed) — by running that command.
 */
export async function stopScheduler(cli: CliContext, timeoutSeconds: number): Promise<StopOutcome> {
  const result = await runCli<{wasRunning: boolean; pid: number | null; stopped: StopOutcome['stopped']}>(cli, ['scheduler', 'stop', '--timeout', String(timeoutSeconds)], (timeoutSeconds + 30) * 1000)
  return {...result, stalePidFile: !result.wasRunning && result.pid !== null}
}

export interface StartOutcome {
  pid: number
  port: number
}

/** Starts the scheduler as `k2ops scheduler start` does: a detached daemon that outlives this command. */
export async function startScheduler(cli: CliContext): Promise<StartOutcome> {
  const result = await runCli<{pid: number; port: number}>(cli, ['scheduler', 'start'], 60_000)
  return {pid: result.pid, port: result.port}
}

export interface ApiOutcome {
  version: string
  pid: number
  deployments: Array<{name: string; paused: boolean; nextRun: string | null}>
}

/** The daemon's API answers /api/health and lists the five deployments of the runbook. */
export async function checkSchedulerApi(home: Home): Promise<ApiOutcome & {client: SchedulerConnection}> {
  const client = await schedulerConnection(home)
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

export interface SchedulerConnection {
  port: number
  api: SchedulerClient
}

async function schedulerConnection(home: Home): Promise<SchedulerConnection> {
  const {daemonFiles, readToken, runningDaemon} = await import('./scheduler/daemon-files.js')
  const {SchedulerClient} = await import('./scheduler/api-client.js')
  const files = daemonFiles(home.stateDir, home.logsDir)
  const daemon = runningDaemon(files.stateFile)
  if (!daemon?.port) throw new K2Error('no scheduler runs on this home', {code: 'scheduler_not_running', exit: ExitCode.failed})
  return {port: daemon.port, api: new SchedulerClient(daemon.port, readToken(files.tokenFile))}
}

/**
 * Queues a run of `deployment` in the daemon and waits until it ends (queued runs wait for the ones
 * before them, e.g. catch-up runs after downtime). A run that ends in any state but Completed, or
 * not within `timeoutMs`, is an error.
 */
export async function runThroughScheduler(connection: SchedulerConnection, deployment: string, timeoutMs: number, onState?: (run: RunRecord) => void): Promise<RunRecord> {
  const {FINAL_STATES} = await import('./run-history.js')
  let run = (await connection.api.run(deployment)).flow_run
  const deadline = Date.now() + timeoutMs
  let seen: string | undefined
  while (!FINAL_STATES.has(run.state)) {
    if (run.state !== seen) onState?.(run)
    seen = run.state
    if (Date.now() > deadline) {
      throw new K2Error(`run ${run.id} of ${run.flow} did not end within ${Math.round(timeoutMs / 1000)} s (state ${run.state})`, {code: 'run_timeout', exit: ExitCode.failed})
    }

    await sleep(250)
    run = (await connection.api.flowRun(run.id)).flow_run
  }

  if (run.state !== 'Completed') {
    throw new K2Error(`${run.flow} run ${run.id} ended ${run.state}${run.error ? `: ${run.error}` : ''}`, {code: 'run_failed', exit: ExitCode.failed})
  }

  return run
}

/** Runs `k2ops ARGS --json` on the same home and warehouse; its JSON error becomes a K2Error. */
async function runCli<T>(cli: CliContext, args: string[], timeoutMs: number): Promise<T> {
  const {execFile} = await import('node:child_process')
  const argv = [cli.bin, ...args, '--home', cli.home.dir, '--warehouse', cli.home.warehouse, '--json']
  const {code, stdout, stderr} = await new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
    execFile(process.execPath, argv, {env: {...process.env, NO_COLOR: '1'}, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024}, (error, out, err) => {
      const exit = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({code: exit, stdout: String(out), stderr: String(err)})
    })
  })
  let parsed: unknown
  try {
    parsed = JSON.parse(stdout)
  } catch {
    parsed = undefined
  }

  if (code === 0 && parsed !== undefined) return parsed as T
  const failure = (parsed as {error?: {message?: string; suggestions?: string[]; code?: string}} | undefined)?.error
  const message = failure?.message ?? (firstLine(stderr.trim()) || `exit ${code}`)
  throw new K2Error(`k2ops ${args.join(' ')}: ${message}`, {code: failure?.code ?? 'child_failed', exit: ExitCode.failed, hint: failure?.suggestions?.[0]})
}
