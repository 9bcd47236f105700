import type {Home} from '../home.js'
import type {DeliveryAttempt} from './delivery.js'

import {UsageError} from '../errors.js'
import {type AlertTarget, alertTargets, secretsOf} from './alert-config.js'
import {AlertState, heldConditions} from './alert-state.js'
import {alertsLogFile, deliver, readDeliveries} from './delivery.js'

/** A target as `k2ops alerts` shows it: everything but the secret, and where the secret comes from. */
export interface TargetView {
  name: string
  type: AlertTarget['type']
  events: string[]
  resolved: boolean
  secretFrom: string
  timeoutSeconds: number
  retries: number
}

export interface AlertsOverview {
  targets: TargetView[]
  /** Conditions told and not cleared yet. */
  held: Array<{key: string; event: string; since: string; summary: string}>
  /** The latest delivery attempts, oldest first. */
  deliveries: DeliveryAttempt[]
}

export function configuredTargets(home: Home): AlertTarget[] {
  return alertTargets(home.config.alerts, process.env, home.configFile)
}

export function alertsOverview(home: Home, last: number): AlertsOverview {
  const targets = configuredTargets(home).map((target) => ({
    name: target.name,
    type: target.type,
    events: [...target.events],
    resolved: target.resolved,
    secretFrom: target.secretFrom,
    timeoutSeconds: target.timeoutMs / 1000,
    retries: target.retries,
  }))
  return {targets, held: heldConditions(home.stateDir), deliveries: last > 0 ? readDeliveries(alertsLogFile(home.stateDir), last) : []}
}

export interface TestResult {
  target: string
  type: AlertTarget['type']
  ok: boolean
  attempts: number
  status?: number
  error?: string
  ms: number
}

/** Sends the test notification to the targets (one, if named), each with its own policy (or one attempt). */
export async function sendTestAlerts(home: Home, options: {target?: string; once?: boolean; now: () => number}): Promise<TestResult[]> {
  const all = configuredTargets(home)
  if (all.length === 0) {
    throw new UsageError(`no alert targets in ${home.configFile}`, {code: 'no_alert_targets', hint: 'add "alerts": [{"name": "team", "type": "slack", "urlEnv": "K2OPS_SLACK_WEBHOOK"}] (k2ops alerts --help has more)'})
  }

  const chosen = options.target === undefined ? all : all.filter((target) => target.name === options.target)
  if (chosen.length === 0) throw new UsageError(`no alert target named ${options.target}`, {code: 'unknown_alert_target', hint: `the targets are ${all.map((target) => target.name).join(', ')}`})
  const state = new AlertState(home.stateDir, home.dir)
  const secrets = secretsOf(all)
  const logFile = alertsLogFile(home.stateDir)
  return Promise.all(
    chosen.map(async (configured) => {
      const target = options.once ? {...configured, retries: 0} : configured
      const test = state.test(options.now())
      const sent = await deliver(target, test, {logFile, secrets})
      // PagerDuty: the test opens an incident; its resolve closes it again.
      if (sent.ok && target.type === 'pagerduty') await deliver(target, state.resolveOf(test, options.now()), {logFile, secrets})
      return {target: target.name, type: target.type, ok: sent.ok, attempts: sent.attempt, ...(sent.status !== undefined && {status: sent.status}), ...(sent.error !== undefined && {error: sent.error}), ms: sent.ms}
    }),
  )
}
