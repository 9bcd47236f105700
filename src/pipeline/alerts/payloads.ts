import type {AlertEvent, AlertTarget} from './alert-config.js'

/** One thing to tell: a condition that started (trigger) or cleared (resolve), or a test. */
export interface Notification {
  /** The condition, stable while it holds: `run/flow-1m`, `candles_late/5m`, `source_silent/KRAKEN`. */
  key: string
  event: AlertEvent | 'test'
  action: 'trigger' | 'resolve'
  severity: 'critical' | 'error' | 'warning' | 'info'
  /** One line for people. */
  summary: string
  /** When the condition was seen (ISO-8601). */
  at: string
  /** Where: the k2ops home (its folder) and the host, so two homes on one receiver are told apart. */
  source: string
  /** The same for the trigger and its resolve, different per home: PagerDuty's dedup_key. */
  dedupKey: string
  details: Record<string, unknown>
}

/** The body of the request for the target's type. */
export function bodyFor(target: AlertTarget, notification: Notification): unknown {
  switch (target.type) {
    case 'pagerduty': {
      return pagerDutyBody(notification, target.routingKey ?? '')
    }

    case 'slack': {
      return slackBody(notification)
    }

    case 'webhook': {
      return webhookBody(notification)
    }
  }
}

/** The generic webhook's JSON: every field of the notification, `state` firing or resolved. */
export function webhookBody(notification: Notification) {
  return {
    source: 'k2ops',
    state: notification.action === 'trigger' ? 'firing' : 'resolved',
    event: notification.event,
    key: notification.key,
    dedupKey: notification.dedupKey,
    severity: notification.severity,
    summary: notification.summary,
    at: notification.at,
    host: notification.source,
    details: notification.details,
  }
}

const SLACK_ICON = {trigger: ':rotating_light:', resolve: ':white_check_mark:'} as const

/** A Slack incoming webhook's message: `text` (the notification line) and one mrkdwn section with the details. */
export function slackBody(notification: Notification) {
  const heading = `${SLACK_ICON[notification.action]} ${notification.action === 'trigger' ? '' : 'Resolved: '}${notification.summary}`
  const facts = Object.entries(notification.details)
    .filter(([, value]) => value !== undefined && value !== null && typeof value !== 'object')
    .map(([name, value]) => `*${name}*: ${String(value)}`)
  return {
    text: heading,
    blocks: [
      {type: 'section', text: {type: 'mrkdwn', text: heading}},
      {type: 'context', elements: [{type: 'mrkdwn', text: [`${notification.event} · ${notification.source} · ${notification.at}`, ...facts].join('\n')}]},
    ],
  }
}

/**
 * PagerDuty Events API v2: a trigger carries the payload; a resolve only the routing key, the action
 * and the dedup key of the trigger it clears.
 */
export function pagerDutyBody(notification: Notification, routingKey: string) {
  if (notification.action === 'resolve') return {routing_key: routingKey, event_action: 'resolve', dedup_key: notification.dedupKey}
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: notification.dedupKey,
    payload: {
      summary: notification.summary.slice(0, 1024),
      source: notification.source,
      severity: notification.severity,
      timestamp: notification.at,
      component: 'k2ops',
      group: String(notification.details.deployment ?? notification.details.timeframe ?? notification.details.exchange ?? notification.event),
      class: notification.event,
      custom_details: notification.details,
    },
  }
}
