import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import type {Condition, Evaluation} from './conditions.js'
import type {Notification} from './payloads.js'

import {replacePrivateFile} from '../private-files.js'
import {formatMillis} from '../time.js'
import {sourceOf} from './conditions.js'

/** A condition that was told and has not cleared yet. */
interface HeldCondition {
  event: Condition['event']
  since: string
  summary: string
  details: Record<string, unknown>
}

/**
 * The conditions told and not cleared, kept in `<home>/state/alerts-state.json`, so that a daemon
 * restart neither tells a held condition again nor forgets to resolve it.
 */
export class AlertState {
  private held: Record<string, HeldCondition>
  private readonly file: string
  private readonly source: string
  private readonly dedupPrefix: string

  constructor(stateDir: string, homeDir: string) {
    this.file = alertStateFile(stateDir)
    this.held = readHeld(this.file)
    this.source = `${hostname()}:${homeDir}`
    // Stable for a home on a host, and different for two homes sending to one PagerDuty service.
    this.dedupPrefix = `k2ops-${createHash('sha256').update(this.source).digest('hex').slice(0, 12)}`
  }

  /** The notifications that this evaluation calls for (new conditions, cleared ones), and keeps them held or not. */
  transitions(evaluation: Evaluation, nowMs: number): Notification[] {
    const at = formatMillis(nowMs)
    const notifications: Notification[] = []
    const current = new Set<string>()
    for (const condition of evaluation.conditions) {
      current.add(condition.key)
      if (this.held[condition.key]) continue
      this.held[condition.key] = {event: condition.event, since: at, summary: condition.summary, details: condition.details}
      notifications.push(this.notification(condition.key, condition, 'trigger', at))
    }

    for (const [key, held] of Object.entries(this.held)) {
      if (current.has(key) || !evaluation.sources.has(sourceOf(key))) continue
      delete this.held[key]
      const summary = `${resolvedText(key)} (since ${held.since})`
      notifications.push(this.notification(key, {event: held.event, severity: 'info', summary, details: {...held.details, since: held.since}}, 'resolve', at))
    }

    if (notifications.length > 0) this.save()
    return notifications
  }

  /** A test notification for `alerts test`, with a dedup key of its own. */
  test(nowMs: number): Notification {
    return this.notification('test', {event: 'test', severity: 'info', summary: 'k2ops test alert: this target receives k2ops alerts', details: {}}, 'trigger', formatMillis(nowMs))
  }

  resolveOf(notification: Notification, nowMs: number): Notification {
    return {...notification, action: 'resolve', at: formatMillis(nowMs), summary: `${notification.summary} (resolved)`}
  }

  heldKeys(): string[] {
    return Object.keys(this.held)
  }

  private notification(key: string, what: Pick<Notification, 'event' | 'severity' | 'summary' | 'details'>, action: Notification['action'], at: string): Notification {
    return {key, ...what, action, at, source: this.source, dedupKey: `${this.dedupPrefix}-${key}`}
  }

  private save(): void {
    replacePrivateFile(this.file, JSON.stringify({held: this.held}, null, 2) + '\n')
  }
}

export function alertStateFile(stateDir: string): string {
  return join(stateDir, 'alerts-state.json')
}

/** The conditions told and not cleared, as `k2ops alerts` lists them. */
export function heldConditions(stateDir: string): Array<{key: string; event: string; since: string; summary: string}> {
  return Object.entries(readHeld(alertStateFile(stateDir))).map(([key, held]) => ({key, event: held.event, since: held.since, summary: held.summary}))
}

function readHeld(file: string): Record<string, HeldCondition> {
  if (!existsSync(file)) return {}
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as {held?: Record<string, HeldCondition>}).held ?? {}
  } catch {
    return {}
  }
}

function resolvedText(key: string): string {
  const [kind, subject] = key.split('/')
  switch (kind) {
    case 'run': {
      return `${subject} runs again: its last run completed`
    }

    case 'streak': {
      return `${subject} failure streak ended`
    }

    case 'candles_late': {
      return `${subject} candles caught up`
    }

    case 'source_silent': {
      return `trades from ${subject} arrive again`
    }

    default: {
      return 'health daily passes again'
    }
  }
}
