import type {SchedulerLog} from '../scheduler/types.js'
import type {AlertTarget} from './alert-config.js'
import type {DeliveryAttempt} from './delivery.js'
import type {Notification} from './payloads.js'

import {secretsOf} from './alert-config.js'
import {deliver} from './delivery.js'

export interface AlertSenderOptions {
  /** Where attempts are recorded. */
  logFile: string
  log: SchedulerLog
  /** Each notification's last attempt (sent or given up on). */
  onDelivered?: (attempt: DeliveryAttempt) => void
}

/**
 * Sends notifications in the background, one at a time per target (a resolve never overtakes its
 * trigger) and targets independently (a target that is down delays only its own queue). Nothing
 * waits for it but `idle()`: a flow never waits for an alert.
 */
export class AlertSender {
  private readonly queues = new Map<string, Promise<void>>()
  private pending = 0

  constructor(private readonly options: AlertSenderOptions) {}

  /** Queues each notification for every target that wants its event (a resolve: those that want resolves too). */
  send(targets: readonly AlertTarget[], notifications: readonly Notification[]): void {
    const secrets = secretsOf(targets)
    for (const notification of notifications) {
      for (const target of targets) {
        if (!wants(target, notification)) continue
        this.pending++
        const previous = this.queues.get(target.name) ?? Promise.resolve()
        const next = previous.then(async () => {
          const attempt = await deliver(target, notification, {logFile: this.options.logFile, secrets})
          this.options.onDelivered?.(attempt)
          const fields = {target: target.name, key: notification.key, event: notification.event, action: notification.action, attempts: attempt.attempt}
          if (attempt.ok) this.options.log('info', 'alert.sent', fields)
          else this.options.log('warn', 'alert.failed', {...fields, error: attempt.error})
        })
        const settled = next.catch((error: unknown) => this.options.log('error', 'alert.failed', {target: target.name, key: notification.key, error: (error as Error).message})).finally(() => this.pending--)
        this.queues.set(target.name, settled)
      }
    }
  }

  /** Resolves when everything queued has been sent or given up on, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    const all = Promise.all(this.queues.values()).then(() => undefined)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    })
    await Promise.race([all, timeout])
    clearTimeout(timer)
  }

  get inFlight(): number {
    return this.pending
  }
}

export function wants(target: AlertTarget, notification: Notification): boolean {
  if (notification.event === 'test') return true
  return target.events.has(notification.event) && (notification.action === 'trigger' || target.resolved)
}
