import {existsSync, readFileSync} from 'node:fs'

import type {Home} from '../home.js'
import type {RunHistory} from '../run-history.js'
import type {SchedulerLog} from './types.js'

import {RUN_END_EVENTS} from './types.js'

import {AlertMonitor} from '../alerts/alert-monitor.js'
import {ALERTS_SCHEMA, alertTargets} from '../alerts/alert-config.js'
import {resolveThresholds} from '../../checks/thresholds.js'
import {checkedSection} from '../config-file.js'
import {freshnessProbe} from './freshness-probe.js'
import {keepLastGood} from './last-good.js'

export const DEFAULT_FRESHNESS_SECONDS = 60

export interface DaemonAlertsOptions {
  home: Home
  bin: string
  history: RunHistory
  log: SchedulerLog
  busy: () => boolean
  now: () => number
}

/**
 * The daemon's alert monitor, its targets and thresholds read from the config file at each
 * evaluation (a config being edited keeps the last good ones), and the runner's log wrapped so that
 * every run that ends is judged at once.
 */
export function daemonAlerts(options: DaemonAlertsOptions): {monitor: AlertMonitor; runnerLog: SchedulerLog; intervalMs: number} {
  const {home, log} = options
  const readConfig = () => (existsSync(home.configFile) ? (JSON.parse(readFileSync(home.configFile, 'utf8')) as {alerts?: unknown; thresholds?: unknown}) : {})
  const unreadable = (what: string) => (error: string) => log('warn', 'config.unreadable', {file: home.configFile, error, keeping: `the last good ${what}`})
  const targets = keepLastGood(() => alertTargets(checkedSection(ALERTS_SCHEMA, readConfig().alerts ?? [], `${home.configFile}: alerts`), process.env, home.configFile), unreadable('alert targets'))
  const streak = keepLastGood(() => resolveThresholds(readConfig().thresholds, `${home.configFile}: thresholds`).consecutiveFailures, unreadable('thresholds'))
  // Wrong alert settings when the daemon starts stop it, as wrong deployments do.
  targets()
  const seconds = home.config.scheduler?.freshnessSeconds ?? DEFAULT_FRESHNESS_SECONDS
  const monitor = new AlertMonitor({
    stateDir: home.stateDir,
    homeDir: home.dir,
    history: options.history,
    targets,
    streak,
    freshness: seconds > 0 ? freshnessProbe({bin: options.bin, home: home.dir, warehouse: home.warehouse, env: process.env, log}) : undefined,
    busy: options.busy,
    log,
    now: options.now,
  })
  const runnerLog: SchedulerLog = (level, event, fields) => {
    log(level, event, fields)
    if (RUN_END_EVENTS.has(event)) void monitor.evaluate()
  }

  return {monitor, runnerLog, intervalMs: seconds * 1000}
}
