import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import type {AlertTarget} from './alert-config.js'
import type {Notification} from './payloads.js'

import {appendPrivateFile, privateDir} from '../private-files.js'
import {formatMillis} from '../time.js'
import {scrub} from './alert-config.js'
import {bodyFor} from './payloads.js'

/** One attempt to send one notification to one target, as `<home>/state/alerts.jsonl` keeps it. */
export interface DeliveryAttempt {
  at: string
  target: string
  type: AlertTarget['type']
  event: Notification['event']
  action: Notification['action']
  key: string
  attempt: number
  ok: boolean
  /** The receiver's HTTP status (none: no answer). */
  status?: number
  /** Why it failed, secrets scrubbed. */
  error?: string
  ms: number
}

export function alertsLogFile(stateDir: string): string {
  return join(stateDir, 'alerts.jsonl')
}

export interface DeliveryOptions {
  /** Where attempts are recorded (null: nowhere). */
  logFile: string | null
  /** Scrubbed from every error text. */
  secrets: readonly string[]
  now?: () => number
  /** Waits between attempts (tests pass one that does not wait). */
  sleep?: (ms: number) => Promise<void>
}

/**
 * Sends one notification, retrying with exponential backoff (retryDelay, then twice that, …) up to
 * the target's retries; every attempt is recorded. Never throws: an alert that cannot be sent must
 * not fail what raised it. Resolves to the last attempt.
 */
export async function deliver(target: AlertTarget, notification: Notification, options: DeliveryOptions): Promise<DeliveryAttempt> {
  const {request} = await import('undici')
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const body = JSON.stringify(bodyFor(target, notification))
  if (options.logFile) privateDir(dirname(options.logFile))
  let last!: DeliveryAttempt
  for (let attempt = 1; attempt <= target.retries + 1; attempt++) {
    const started = now()
    let status: number | undefined
    let error: string | undefined
    try {
      const response = await request(target.url, {
        method: 'POST',
        headers: {'content-type': 'application/json', 'user-agent': 'k2ops'},
        body,
        signal: AbortSignal.timeout(target.timeoutMs),
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
      })
      status = response.statusCode
      const text = await response.body.text().catch(() => '')
      if (status < 200 || status >= 300) error = `HTTP ${status}${text.trim() ? `: ${text.trim().split('\n')[0].slice(0, 200)}` : ''}`
    } catch (caught) {
      error = describeFailure(caught, target.timeoutMs)
    }

    last = {
      at: formatMillis(started),
      target: target.name,
      type: target.type,
      event: notification.event,
      action: notification.action,
      key: notification.key,
      attempt,
      ok: error === undefined,
      ...(status !== undefined && {status}),
      ...(error !== undefined && {error: scrub(error, options.secrets)}),
      ms: Math.max(0, now() - started),
    }
    if (options.logFile) appendPrivateFile(options.logFile, JSON.stringify(last) + '\n')
    // A 4xx other than 429 is the request itself (a wrong key, a bad URL): another try gets the same.
    if (last.ok || (status !== undefined && status >= 400 && status < 500 && status !== 429)) break
    if (attempt <= target.retries) await sleep(target.retryDelayMs * 2 ** (attempt - 1))
  }

  return last
}

function describeFailure(error: unknown, timeoutMs: number): string {
  const failure = error as {name?: string; code?: string; message?: string; cause?: {code?: string; message?: string}}
  if (failure.name === 'TimeoutError' || failure.code === 'UND_ERR_HEADERS_TIMEOUT' || failure.code === 'UND_ERR_BODY_TIMEOUT') return `no answer within ${timeoutMs / 1000} s`
  const cause = failure.cause?.message ?? failure.message ?? String(error)
  return failure.cause?.code && !cause.includes(failure.cause.code) ? `${failure.cause.code}: ${cause}` : cause
}

/** The recorded attempts, oldest first (the last `limit` of them). */
export function readDeliveries(file: string, limit = Number.POSITIVE_INFINITY): DeliveryAttempt[] {
  if (!existsSync(file)) return []
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
  const attempts: DeliveryAttempt[] = []
  for (const line of lines.slice(Number.isFinite(limit) ? -limit : 0)) {
    try {
      attempts.push(JSON.parse(line) as DeliveryAttempt)
    } catch {
      // A line cut short by a crash is skipped.
    }
  }

  return attempts
}
