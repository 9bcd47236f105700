import type {Counter, Gauge, Histogram, Registry} from 'prom-client'

import type {AlertMonitor} from '../alerts/alert-monitor.js'
import type {RunHistory, RunRecord} from '../run-history.js'

import {FINAL_STATES} from '../run-history.js'

/** What the metrics read of the schedule runner at each scrape. */
export interface MetricsSource {
  history: Pick<RunHistory, 'list'>
  snapshot(): {running: RunRecord | null; queue: RunRecord[]}
  /** Milliseconds since the epoch (the runner's clock). */
  now(): number
  /** The alert monitor: its last freshness figures, and the alerts it sent or failed to send. */
  alerts?: Pick<AlertMonitor, 'freshness' | 'deliveries'>
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
    if (source.alerts) alertMetrics(client, registry, source.alerts)
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

/** Candle and source lag as of the daemon's last freshness evaluation, and the alerts sent and failed. */
function alertMetrics(client: typeof import('prom-client'), registry: Registry, alerts: NonNullable<MetricsSource['alerts']>): void {
  const lag = (name: string) => alerts.freshness()?.checks.filter((check) => check.name === name) ?? []
  new client.Gauge({
    name: 'k2ops_candle_lag_seconds',
    help: 'How far the newest candle of each timeframe ends before the newest trade, as of the daemon\'s last freshness evaluation.',
    labelNames: ['timeframe'],
    registers: [registry],
    collect(this: Gauge) {
      this.reset()
      for (const check of lag('candle_lag')) if (check.timeframe && check.value !== null) this.set({timeframe: check.timeframe}, check.value)
    },
  })
  new client.Gauge({
    name: 'k2ops_source_lag_seconds',
    help: 'Age of the newest trade of each exchange, as of the daemon\'s last freshness evaluation.',
    labelNames: ['exchange'],
    registers: [registry],
    collect(this: Gauge) {
      this.reset()
      for (const check of lag('source_lag')) {
        for (const row of check.evidence ?? []) if (typeof row.exchange === 'string' && typeof row.lag_seconds === 'number') this.set({exchange: row.exchange}, row.lag_seconds)
      }
    },
  })
  new client.Gauge({
    name: 'k2ops_freshness_evaluated_timestamp_seconds',
    help: 'When the freshness figures above were measured, in seconds since the epoch (absent: not yet).',
    registers: [registry],
    collect(this: Gauge) {
      this.reset()
      const at = alerts.freshness()?.checkedAt
      if (at) this.set(Date.parse(at) / 1000)
    },
  })
  for (const [name, ok, help] of [
    ['k2ops_alerts_sent_total', true, 'Alerts delivered, by target and event (retries of one alert count once).'],
    ['k2ops_alerts_failed_total', false, 'Alerts given up on after every retry, by target and event.'],
  ] as const) {
    new client.Counter({
      name,
      help,
      labelNames: ['target', 'event'],
      registers: [registry],
      collect(this: Counter) {
        this.reset()
        for (const entry of alerts.deliveries()) if (entry.ok === ok) this.inc({target: entry.target, event: entry.event}, entry.count)
      },
    })
  }
}
