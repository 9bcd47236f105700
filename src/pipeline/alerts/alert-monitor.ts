import type {RunHistory} from '../run-history.js'
import type {SchedulerLog} from '../scheduler/types.js'
import type {AlertTarget} from './alert-config.js'
import type {Condition, ConditionSource, FreshnessReport} from './conditions.js'
import type {DeliveryAttempt} from './delivery.js'

import {AlertSender} from './alert-sender.js'
import {AlertState} from './alert-state.js'
import {freshnessConditions, healthConditions, runConditions} from './conditions.js'
import {alertsLogFile} from './delivery.js'
import {healthOutcomeFile, readHealthOutcome} from './health-outcome.js'

export interface AlertMonitorOptions {
  stateDir: string
  homeDir: string
  history: Pick<RunHistory, 'list'>
  /** The targets as the config says now (read at each evaluation). */
  targets: () => AlertTarget[]
  /** Failures in a row that make a streak (the consecutiveFailures threshold). */
  streak: () => number
  /** Runs the freshness checks (a `k2ops freshness` child); undefined: they could not run now. */
  freshness?: () => Promise<FreshnessReport | undefined>
  /** Is a flow running or queued? Then the freshness checks wait: the warehouse is the flow's. */
  busy: () => boolean
  log: SchedulerLog
  now: () => number
}

/**
 * The daemon's alerting: after every run and every interval between runs it judges the conditions
 * (run history, freshness, the last health daily), tells what started and what cleared, and keeps
 * the freshness figures for /metrics. Evaluations never overlap; one asked for while another runs
 * is done right after it.
 */
export class AlertMonitor {
  readonly sender: AlertSender
  private readonly state: AlertState
  private running: Promise<void> | undefined
  private again = false
  private timer: NodeJS.Timeout | undefined
  private lastFreshness: FreshnessReport | undefined
  private readonly delivered = new Map<string, {target: string; event: string; ok: boolean; count: number}>()

  constructor(private readonly options: AlertMonitorOptions) {
    this.state = new AlertState(options.stateDir, options.homeDir)
    this.sender = new AlertSender({
      logFile: alertsLogFile(options.stateDir),
      log: options.log,
      onDelivered: (attempt) => this.count(attempt),
    })
  }

  /** Evaluates now and then every `intervalMs` (0: only when asked). */
  start(intervalMs: number): void {
    this.evaluate()
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.evaluate(), intervalMs)
      this.timer.unref()
    }
  }

  /** Asks for an evaluation; resolves when one that started after this call has ended. */
  evaluate(): Promise<void> {
    if (this.running) {
      this.again = true
      return this.running
    }

    this.running = (async () => {
      do {
        this.again = false
        await this.evaluateOnce().catch((error: unknown) => this.options.log('error', 'alerts.evaluation_failed', {error: (error as Error).message}))
      } while (this.again)
    })().finally(() => {
      this.running = undefined
    })
    return this.running
  }

  /** Stops the interval and waits (up to `timeoutMs`) for the evaluation and the alerts under way. */
  async stop(timeoutMs: number): Promise<void> {
    clearInterval(this.timer)
    await this.running
    await this.sender.idle(timeoutMs)
  }

  freshness(): FreshnessReport | undefined {
    return this.lastFreshness
  }

  deliveries(): Array<{target: string; event: string; ok: boolean; count: number}> {
    return [...this.delivered.values()]
  }

  private async evaluateOnce(): Promise<void> {
    const sources = new Set<ConditionSource>(['runs'])
    const conditions: Condition[] = runConditions(this.options.history.list(), this.options.streak())
    const health = readHealthOutcome(healthOutcomeFile(this.options.stateDir))
    if (health) {
      sources.add('health')
      conditions.push(...healthConditions(health))
    }

    if (this.options.freshness && !this.options.busy()) {
      const report = await this.options.freshness()
      if (report) {
        this.lastFreshness = report
        sources.add('freshness')
        conditions.push(...freshnessConditions(report))
      }
    }

    const notifications = this.state.transitions({sources, conditions}, this.options.now())
    for (const notification of notifications) {
      this.options.log(notification.action === 'trigger' ? 'warn' : 'info', notification.action === 'trigger' ? 'alert.firing' : 'alert.resolved', {key: notification.key, event: notification.event, summary: notification.summary})
    }

    if (notifications.length > 0) this.sender.send(this.options.targets(), notifications)
  }

  private count(attempt: DeliveryAttempt): void {
    const id = `${attempt.target}\u0000${attempt.event}\u0000${attempt.ok}`
    const entry = this.delivered.get(id) ?? {target: attempt.target, event: attempt.event, ok: attempt.ok, count: 0}
    entry.count++
    this.delivered.set(id, entry)
  }
}
