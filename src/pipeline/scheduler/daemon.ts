import type {Server} from 'node:http'

import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Home} from '../home.js'
import type {SchedulerLog} from './types.js'

import {K2Error, ExitCode} from '../errors.js'
import {Deployment, loadDeployments} from '../deployments.js'
import {engineTarget} from '../engine/index.js'
import {startHeartbeat} from '../heartbeat.js'
import {currentProcess} from '../process-owner.js'
import {RunHistory} from '../run-history.js'
import {formatMillis} from '../time.js'
import {startApiServer, serverPort} from './api-server.js'
import {childProcessExecutor} from './child-executor.js'
import {BackfillFeeder} from './backfill-feeder.js'
import {daemonAlerts} from './daemon-alerts.js'
import {keepLastGood} from './last-good.js'
import {DaemonState, alreadyRunningError, claimDaemonState, daemonFiles, releaseDaemonState, updateDaemonState, writeToken} from './daemon-files.js'
import {ScheduleRunner} from './schedule-runner.js'
import {systemClock} from './system-clock.js'
import {DEFAULT_LOG_FILES, DEFAULT_LOG_MAX_BYTES, openSchedulerLog} from './scheduler-log.js'

export const DEFAULT_API_PORT = 4242
const ALERTS_STOP_MS = 5000
const BACKFILL_FEED_MS = 5000

export interface DaemonOptions {
  home: Home
  /** bin/run.js of this k2ops, for the flow processes. */
  bin: string
  version: string
  catchUp: boolean
  /** Echo readable log lines here (foreground). */
  echo?: NodeJS.WritableStream
}

/**
 * The scheduler daemon: claims the home (one daemon per home), marks runs left Running by a dead
 * daemon as Crashed, serves the API on 127.0.0.1, and runs the schedule until SIGTERM/SIGINT or
 * POST /api/shutdown; then stops gracefully and releases the home. Resolves when it has stopped.
 */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const {home} = options
  const files = daemonFiles(home.stateDir, home.logsDir)
  const startedAtMs = Date.now()
  // What the flows work on: the warehouse file, or on Spark the catalog's namespace.
  const target = engineTarget(home)
  const state: DaemonState = {...currentProcess(), startedAt: formatMillis(startedAtMs), version: options.version, warehouse: target}
  const claim = claimDaemonState(files.stateFile, state)
  if (!claim.claimed) throw alreadyRunningError(claim.holder)

  const settings = home.config.scheduler ?? {}
  const {log, close: closeLog} = await openSchedulerLog({
    file: files.logFile,
    maxBytes: settings.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES,
    maxFiles: settings.logFiles ?? DEFAULT_LOG_FILES,
    echo: options.echo,
  })
  let server: Server | undefined
  // The daemon owns its queued and running runs: its heartbeat dates them if it dies.
  const stopHeartbeat = startHeartbeat(join(home.stateDir, 'alive'))
  try {
    const history = new RunHistory(home.runHistoryFile)
    for (const run of history.markCrashed()) log('warn', 'run.crashed', {id: run.id, flow: run.flow, pid: run.pid, error: run.error})
    const token = writeToken(files.tokenFile)
    let runner!: ScheduleRunner
    const alerts = daemonAlerts({home, bin: options.bin, history, log, busy: () => runner.busy, now: () => systemClock.now()})
    const configured = liveDeployments(home, log)
    // Managed backfills: a day at a time whenever the runner is idle (after each run, and every few seconds).
    const backfills = new BackfillFeeder({stateDir: home.stateDir, history, runner: {get busy() {return runner.busy}, enqueue: (request) => runner.enqueue(request)}, log})
    runner = new ScheduleRunner({
      deployments: () => [...configured(), ...backfills.deployments()],
      executor: childProcessExecutor({bin: options.bin, home: home.dir, warehouse: home.warehouse, env: process.env}),
      history,
      clock: systemClock,
      log: (level, event, fields) => {
        alerts.runnerLog(level, event, fields)
        backfills.afterEvent(event)
      },
      catchUp: options.catchUp,
      warehouse: target,
    })
    let stopping: Promise<void> | undefined
    let stopped!: () => void
    const whenStopped = new Promise<void>((resolve) => {
      stopped = resolve
    })
    // Graceful: no new runs; the running flow may finish within the timeout, then it is cancelled.
    const stop = (timeoutSeconds: number, why: string) => {
      stopping ??= (async () => {
        log('info', 'scheduler.stopping', {why, timeoutSeconds})
        backfills.stop()
        await runner.stop({timeoutMs: timeoutSeconds * 1000})
        // Alerts under way get a few seconds; a receiver that is down does not hold the stop.
        await alerts.monitor.stop(ALERTS_STOP_MS)
        await new Promise<void>((resolve) => {
          if (!server) return resolve()
          server.close(() => resolve())
          server.closeAllConnections()
        })
        stopped()
      })()
      return stopping
    }

    const {SchedulerMetrics} = await import('./metrics.js')
    const metrics = await SchedulerMetrics.create({history, snapshot: () => runner.snapshot(), now: () => systemClock.now(), alerts: alerts.monitor})
    const port = settings.port ?? DEFAULT_API_PORT
    server = await startApiServer(port, {
      runner,
      history,
      token,
      version: options.version,
      startedAtMs,
      log,
      metrics,
      backfillSubmitted: (id) => {
        const known = backfills.deployments().some((deployment) => deployment.command.includes(id))
        if (known) backfills.feedSoon()
        return known
      },
      shutdown: (timeoutSeconds) => void stop(timeoutSeconds, 'api'),
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error
      throw new K2Error(`the API port 127.0.0.1:${port} is in use`, {
        code: 'port_in_use',
        exit: ExitCode.failed,
        hint: `set another in ${home.configFile}: {"scheduler": {"port": N}} (0 picks a free one)`,
      })
    })
    updateDaemonState(files.stateFile, {...state, port: serverPort(server)})
    log('info', 'scheduler.started', {pid: process.pid, port: serverPort(server), home: home.dir, engine: home.engine, warehouse: target, catchUp: options.catchUp})
    runner.start()
    alerts.monitor.start(alerts.intervalMs)
    const feeding = setInterval(() => backfills.feedSoon(), BACKFILL_FEED_MS)
    feeding.unref()
    backfills.feedSoon()
    // systemd and `kill` send SIGTERM; its default stop timeout is 90 s, so 60 s for the flow fits.
    process.once('SIGTERM', (signal) => void stop(60, signal))
    process.once('SIGINT', (signal) => void stop(60, signal))
    await whenStopped
    log('info', 'scheduler.stopped', {pid: process.pid})
  } catch (error) {
    log('error', 'scheduler.failed', {error: (error as Error).message})
    server?.close()
    throw error
  } finally {
    stopHeartbeat()
    releaseDaemonState(files.stateFile)
    await closeLog()
  }
}

/**
 * The deployments as the config file says now: it is read at every decision, so pause/resume and
 * cron changes apply without a restart. A config being edited (unreadable for a moment, or wrong)
 * keeps the last good deployments and says so in the log.
 */
function liveDeployments(home: Home, log: SchedulerLog): () => Deployment[] {
  const read = keepLastGood(
    () => {
      const config = existsSync(home.configFile) ? (JSON.parse(readFileSync(home.configFile, 'utf8')) as {deployments?: unknown}) : {}
      return loadDeployments(config.deployments, `${home.configFile}: deployments`, home.engine)
    },
    (error) => log('warn', 'config.unreadable', {file: home.configFile, error, keeping: 'the last good deployments'}),
  )
  // A config that is wrong when the daemon starts stops it: there is no good one to keep.
  read()
  return read
}
