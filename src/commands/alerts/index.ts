import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {alertsOverview, type AlertsOverview} from '../../pipeline/alerts/alerts-overview.js'
import {renderAlertsOverview} from '../../render/alerts.js'

export default class Alerts extends BaseCommand<typeof Alerts> {
  static override summary = 'List the alert targets, the conditions told and not cleared yet, and the last deliveries.'
  static override description = `The scheduler daemon sends alerts to the targets in "alerts" of <home>/config.json: a generic webhook (JSON), a Slack incoming webhook or PagerDuty Events API v2. Each is told when a run fails, times out or crashes, when a deployment fails consecutiveFailures times in a row, when candles are late or an exchange goes silent (the freshness thresholds, checked after every run and every scheduler.freshnessSeconds), and when a health daily fails; then once more when that clears. Every attempt is kept in <home>/state/alerts.jsonl. Secrets (webhook URLs, routing keys) are best named by the variable that holds them (urlEnv, routingKeyEnv); they are never printed.

Example target list:
  "alerts": [
    {"name": "oncall", "type": "pagerduty", "routingKeyEnv": "K2OPS_PD_ROUTING_KEY", "events": ["failure_streak", "candles_late", "source_silent"]},
    {"name": "team", "type": "slack", "urlEnv": "K2OPS_SLACK_WEBHOOK"},
    {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9000/k2ops", "resolved": false}
  ]`

  static override examples = ['<%= config.bin %> alerts', '<%= config.bin %> alerts --last 50', "<%= config.bin %> alerts --json | jq '.deliveries[] | select(.ok | not)'", '<%= config.bin %> alerts test team']

  static override flags = {
    last: Flags.integer({description: 'How many of the latest delivery attempts to show.', default: 10, min: 0}),
  }

  async run(): Promise<AlertsOverview> {
    const overview = alertsOverview(this.home, this.flags.last)
    if (!this.jsonEnabled()) this.log(renderAlertsOverview(overview))
    return overview
  }
}
