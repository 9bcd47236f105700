import type {WarmDriver} from '../../pipeline/engine/warm-drivers.js'

import {BaseCommand} from '../../base-command.js'
import {formatAge} from '../../checks/units.js'
import {loadDeployments} from '../../pipeline/deployments.js'
import {ExitCode} from '../../pipeline/errors.js'
import {RunHistory, RunRecord} from '../../pipeline/run-history.js'
import {renderTable} from '../../render/table.js'

export type SchedulerState = 'running' | 'stopped' | 'dead' | 'unhealthy'

export interface DeploymentStatus {
  name: string
  flow: string
  cron: string
  paused: boolean
  nextRun: string | null
  lastRun: {id: string; state: string; startedAt: string; durationMs: number | null} | null
}

/** The engine the flows run on; on Spark, the warm drivers that are up (none: the next flow starts one). */
export interface EngineStatus {
  kind: 'duckdb' | 'spark'
  /** The warehouse file, or the Spark target `catalog.namespace`. */
  target: string
  sparkDrivers?: Array<Pick<WarmDriver, 'pid' | 'startedAt' | 'master' | 'listening'>>
}

export interface SchedulerStatusResult {
  state: SchedulerState
  engine: EngineStatus
  pid: number | null
  uptimeSeconds: number | null
  port: number | null
  /** The run in progress now, if any. */
  running: RunRecord | null
  queue: RunRecord[]
  deployments: DeploymentStatus[]
  message: string
}

export default class SchedulerStatus extends BaseCommand<typeof SchedulerStatus> {
  static override summary = 'Is the scheduler running? Its pid, uptime, the six deployments (five flows, maintenance) with next and last runs, the flow running now.'
  static override description = `Exit 0 when the scheduler runs and its API answers; 1 when it is stopped, dead (a pid file left by a
crash: k2ops scheduler start recovers) or unhealthy (the process runs but its API does not answer).
Reads only the home's state files and the daemon's API: it answers at once, even while a job holds the warehouse.
On the Spark engine it also tells whether a warm Spark driver is up (from its note file: no Spark call).`

  static override examples = ['<%= config.bin %> scheduler status', '<%= config.bin %> scheduler status --json']

  async run(): Promise<SchedulerStatusResult> {
    const {findDaemon} = await import('../../pipeline/scheduler/control.js')
    const found = findDaemon(this.home)
    const engine = await this.engineStatus()
    let result: Omit<SchedulerStatusResult, 'engine'>
    if (found.status === 'running' && found.daemon.port) {
      result = await this.fromApi(found.daemon.pid, found.daemon.port)
    } else {
      const daemon = found.status === 'stopped' ? undefined : found.daemon
      const state: SchedulerState = found.status === 'running' ? 'unhealthy' : found.status
      const message =
        state === 'dead'
          ? `The scheduler is dead: pid ${daemon!.pid} (started ${daemon!.startedAt}) is gone but left its pid file. k2ops scheduler start recovers.`
          : state === 'unhealthy'
            ? `The scheduler process ${daemon!.pid} runs but has no API yet (starting, or stuck).`
            : 'The scheduler is stopped. k2ops scheduler start starts it.'
      result = {state, pid: daemon?.pid ?? null, uptimeSeconds: null, port: daemon?.port ?? null, running: null, queue: [], deployments: this.fromConfig(), message}
    }

    const status = {...result, engine}
    if (!this.jsonEnabled()) this.display(status)
    if (status.state !== 'running') process.exitCode = ExitCode.failed
    return status
  }

  private async engineStatus(): Promise<EngineStatus> {
    const {engineTarget} = await import('../../pipeline/engine/index.js')
    const {warmDrivers} = await import('../../pipeline/engine/warm-drivers.js')
    const drivers = await warmDrivers(this.home)
    const sparkDrivers = drivers?.map(({pid, startedAt, master, listening}) => ({pid, startedAt, master, listening}))
    return {kind: this.home.engine, target: engineTarget(this.home), ...(sparkDrivers && {sparkDrivers})}
  }

  private async fromApi(pid: number, port: number): Promise<Omit<SchedulerStatusResult, 'engine'>> {
    const {SchedulerClient} = await import('../../pipeline/scheduler/api-client.js')
    const client = new SchedulerClient(port, undefined, 1500)
    try {
      const [health, snapshot] = await Promise.all([client.health(), client.deployments()])
      const deployments = snapshot.deployments.map((d) => ({
        name: d.name,
        flow: d.flow,
        cron: d.cron,
        paused: d.paused,
        nextRun: d.nextRun,
        lastRun: summarizeRun(d.lastRun),
      }))
      return {
        state: 'running',
        pid,
        uptimeSeconds: health.uptimeSeconds,
        port,
        running: snapshot.running,
        queue: snapshot.queue,
        deployments,
        message: `The scheduler is running: pid ${pid}, up ${formatAge(health.uptimeSeconds)}, API http://127.0.0.1:${port}.`,
      }
    } catch (error) {
      return {
        state: 'unhealthy',
        pid,
        uptimeSeconds: null,
        port,
        running: null,
        queue: [],
        deployments: this.fromConfig(),
        message: `The scheduler process ${pid} runs but its API does not answer: ${(error as Error).message}`,
      }
    }
  }

  /** Without a daemon: the deployments as configured, with their last runs from the history. */
  private fromConfig(): DeploymentStatus[] {
    const runs = new RunHistory(this.home.runHistoryFile).list()
    return loadDeployments(this.home.config.deployments, `${this.home.configFile}: deployments`, this.home.engine).map((d) => ({
      name: d.name,
      flow: d.flow,
      cron: d.cron,
      paused: d.paused,
      nextRun: null,
      lastRun: summarizeRun(runs.find((run) => run.flow === d.flow && run.state !== 'Skipped') ?? null),
    }))
  }

  private display(result: SchedulerStatusResult): void {
    this.log(result.message)
    this.log(describeEngine(result.engine))
    this.log('')
    this.log(
      renderTable(
        ['DEPLOYMENT', 'CRON (UTC)', 'NEXT RUN', 'LAST RUN', 'STATE', 'DURATION'],
        result.deployments.map((d) => [
          d.name,
          d.cron,
          d.paused ? 'paused' : (d.nextRun?.replace('.000Z', 'Z') ?? '-'),
          d.lastRun?.startedAt.replace(/\.\d+Z$/, 'Z') ?? '-',
          d.lastRun?.state ?? '-',
          d.lastRun?.durationMs === null || d.lastRun === null ? '-' : `${(d.lastRun.durationMs / 1000).toFixed(2)} s`,
        ]),
      ),
    )
    if (result.state === 'running') {
      this.log('')
      this.log(result.running ? `Running now: ${result.running.flow} (${result.running.id}, since ${result.running.startedAt})` : 'Running now: no flow')
      if (result.queue.length > 0) this.log(`Queued: ${result.queue.map((run) => run.flow).join(', ')}`)
    }
  }
}

function describeEngine(engine: EngineStatus): string {
  const line = `Engine: ${engine.kind} (${engine.target})`
  if (!engine.sparkDrivers) return line
  if (engine.sparkDrivers.length === 0) return `${line}; no warm Spark driver (the next flow starts one)`
  const drivers = engine.sparkDrivers.map((d) => `pid ${d.pid}${d.listening ? '' : ', not listening'}, since ${d.startedAt}`)
  return `${line}; warm Spark driver up: ${drivers.join('; ')}`
}

function summarizeRun(run: RunRecord | null): DeploymentStatus['lastRun'] {
  return run ? {id: run.id, state: run.state, startedAt: run.startedAt, durationMs: run.durationMs ?? null} : null
}
