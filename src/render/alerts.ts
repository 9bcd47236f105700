import type {AlertsOverview, TestResult} from '../pipeline/alerts/alerts-overview.js'

import {ALERT_EVENTS} from '../pipeline/alerts/alert-config.js'
import {renderTable} from './table.js'

export function renderAlertsOverview(overview: AlertsOverview): string {
  if (overview.targets.length === 0) {
    return 'No alert targets: add "alerts" to config.json, e.g. [{"name": "team", "type": "slack", "urlEnv": "K2OPS_SLACK_WEBHOOK"}] (k2ops alerts --help).'
  }

  const parts = [
    renderTable(
      ['TARGET', 'TYPE', 'SECRET FROM', 'EVENTS', 'RESOLVED', 'TIMEOUT', 'RETRIES'],
      overview.targets.map((target) => [target.name, target.type, target.secretFrom, target.events.length === ALERT_EVENTS.length ? 'all' : target.events.join(','), target.resolved ? 'yes' : 'no', `${target.timeoutSeconds} s`, target.retries]),
      {alignRight: [5, 6]},
    ),
  ]
  parts.push(
    overview.held.length === 0
      ? 'Firing: nothing (no condition told and not cleared).'
      : `Firing:\n${renderTable(['SINCE', 'CONDITION', 'SUMMARY'], overview.held.map((held) => [held.since, held.key, held.summary]))}`,
  )
  if (overview.deliveries.length === 0) {
    parts.push('Deliveries: none yet (k2ops alerts test sends one).')
  } else {
    const rows = overview.deliveries.map((attempt) => [attempt.at, attempt.target, attempt.event, attempt.action, attempt.attempt, attempt.ok ? `sent (HTTP ${attempt.status})` : `failed: ${attempt.error ?? ''}`])
    parts.push(`Last deliveries:\n${renderTable(['AT', 'TARGET', 'EVENT', 'ACTION', 'TRY', 'RESULT'], rows, {alignRight: [4]})}`)
  }

  return parts.join('\n\n')
}

export function renderTestResults(results: TestResult[]): string {
  return results
    .map((result) => {
      const tries = `${result.attempts} attempt${result.attempts === 1 ? '' : 's'}`
      return result.ok
        ? `${result.target} (${result.type}): delivered, HTTP ${result.status} (${tries}, ${result.ms} ms)`
        : `${result.target} (${result.type}): NOT delivered: ${result.error} (${tries})`
    })
    .join('\n')
}
