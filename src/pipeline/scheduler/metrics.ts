import type {Counter, Gauge, Histogram, Registry} from 'prom-client'

import type {RunHistory, RunRecord} from '../run-history.js'

import {FINAL_STATES} from '../run-history.js'

/** What the metrics read of the schedule runner at each scrape. */
export interface MetricsSource {
  history: Pick<RunHistory, 'list'>
  snapshot(): {running: RunRecord | null; queue: RunRecord[]}
  /** Milliseconds since the epoch (the runner's clock). */
  now(): number
}

/** Seconds: from a 1m flow's routine run to a long backfill day on Spark. */
const DURATION_BUCKETS = [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600]

/**
 * The daemon's `GET /metrics`, in Prometheus' text format (prom-client). Every series is computed
 * from the run history and the runner's queue at scrape time, so it agrees with `k2ops runs --json`
 * for the same history, whatever restarts happened in between.
 */
export class SchedulerMetrics {
  private constructor(
    private readonly registry: Registry,
    private readonly refresh: () => void,
    readonly contentType: string,
  ) {}

  static async create(source: MetricsSource): Promise<SchedulerMetrics> {
    const client = await import('prom-client')
    const registry = new client.Registry()
    let runs: RunRecord[] = []
    // The history is read once per scrape, before the collect() calls.
    const refresh = () => {
      runs = source.history.list()
    }

    new client.Counter({
      name: 'k2ops_flow_runs_total',
      help: 'Flow runs that ended, by flow and final state (the run history, as k2ops runs lists it).',
      labelNames: ['flow', 'state'],
      registers: [registry],
      collect(this: Counter) {
        this.reset()
        for (const run of runs) if (FINAL_STATES.has(run.state)) this.inc({flow: run.flow, state: run.state})
      },
    })
    new client.Histogram({
      name: 'k2ops_flow_run_duration_seconds',
      help: 'Duration of the flow runs that ended Completed, Failed or TimedOut, by flow.',
      labelNames: ['flow'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
      collect(this: Histogram) {
        this.reset()
        for (const run of runs) if (timed(run)) this.observe({flow: run.flow}, run.durationMs! / 1000)
      },
    })
    new client.Gauge({
      name: 'k2ops_flow_last_success_timestamp_seconds',
      help: 'When the newest Completed run of each flow ended, in seconds since the epoch.',
      labelNames: ['flow'],
      registers: [registry],
      collect(this: Gauge) {
        this.reset()
        for (const [flow, at] of lastSuccess(runs)) this.set({flow}, at / 1000)
      },
    })
    new client.Gauge({
      name: 'k2ops_running_run_age_seconds',
      help: 'How long the run in the scheduler\'s slot has been running, by flow (absent: nothing runs).',
      labelNames: ['flow', 'deployment'],
      registers: [registry],
      collect(this: Gauge) {
        this.reset()
        const {running} = source.snapshot()
        if (running) this.set({flow: running.flow, deployment: running.deployment}, Math.max(0, source.now() - Date.parse(running.startedAt)) / 1000)
      },
    })
    new client.Gauge({
      name: 'k2ops_queue_length',
      help: 'Runs queued in the scheduler behind the running one.',
      registers: [registry],
      collect(this: Gauge) {
        this.set(source.snapshot().queue.length)
      },
    })
    client.collectDefaultMetrics({register: registry, prefix: 'k2ops_scheduler_'})
    return new SchedulerMetrics(registry, refresh, registry.contentType)
  }

  text(): Promise<string> {
    this.refresh()
    return this.registry.metrics()
  }
}

function timed(run: RunRecord): boolean {
  return (run.state === 'Completed' || run.state === 'Failed' || run.state === 'TimedOut') && run.durationMs !== undefined
}

function lastSuccess(runs: RunRecord[]): Map<string, number> {
  const newest = new Map<string, number>()
  for (const run of runs) {
    if (run.state !== 'Completed' || !run.endedAt) continue
    const at = Date.parse(run.endedAt)
    if (at > (newest.get(run.flow) ?? -Infinity)) newest.set(run.flow, at)
  }

  return newest
}
