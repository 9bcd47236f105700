import * as v from 'valibot'

import {UsageError} from '../errors.js'
import {integer, nonEmptyText, number, section} from '../config-rules.js'

/**
 * `alerts` in config.json: where the scheduler sends what. Each target is a generic webhook (a JSON
 * body), a Slack incoming webhook or PagerDuty's Events API v2. Its secret (the webhook URL, the
 * routing key) is given in the file or, better, named by the environment variable that holds it, so
 * the file can travel in a backup or a support ticket.
 */

/** What a target can be told; each has a matching "resolved" when its condition clears. */
export const ALERT_EVENTS = ['failed', 'timed_out', 'crashed', 'failure_streak', 'candles_late', 'source_silent', 'health_daily'] as const
export type AlertEvent = (typeof ALERT_EVENTS)[number]
export const TARGET_TYPES = ['webhook', 'slack', 'pagerduty'] as const
export type TargetType = (typeof TARGET_TYPES)[number]

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue'
const ENV_NAME_ALLOWED = 'an environment variable name such as K2OPS_SLACK_WEBHOOK (letters, digits and _)'
const envName = v.pipe(v.string(ENV_NAME_ALLOWED), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, ENV_NAME_ALLOWED))
const URL_ALLOWED = 'an http:// or https:// URL'
const url = v.pipe(
  v.string(URL_ALLOWED),
  v.check((text) => /^https?:\/\/[^\s/]+/i.test(text) && URL.canParse(text), URL_ALLOWED),
)
const EVENTS_ALLOWED = `a list of ${ALERT_EVENTS.join(', ')}`
const NAME_ALLOWED = 'a target name: letters, digits, - and _'

const TARGET_SCHEMA = section({
  name: v.pipe(v.string(NAME_ALLOWED), v.regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, NAME_ALLOWED)),
  type: v.picklist(TARGET_TYPES, `one of ${TARGET_TYPES.join(', ')}`),
  url: v.optional(url),
  urlEnv: v.optional(envName),
  routingKey: v.optional(nonEmptyText('a PagerDuty integration (routing) key')),
  routingKeyEnv: v.optional(envName),
  events: v.optional(v.pipe(v.array(v.picklist(ALERT_EVENTS, EVENTS_ALLOWED), EVENTS_ALLOWED), v.minLength(1, EVENTS_ALLOWED))),
  resolved: v.optional(v.boolean('true or false')),
  timeoutSeconds: v.optional(number(0.1, 300, 'a number of seconds from 0.1 to 300')),
  retries: v.optional(integer(0, 10)),
  retryDelaySeconds: v.optional(number(0, 600, 'a number of seconds from 0 to 600')),
})

const NAMES_UNIQUE = 'a list of targets with different names'
export const ALERTS_SCHEMA = v.pipe(
  v.array(TARGET_SCHEMA, 'a list of alert targets ({"name", "type", ...})'),
  v.check((targets) => new Set(targets.map((target) => target.name)).size === targets.length, NAMES_UNIQUE),
)

export type TargetConfig = v.InferOutput<typeof TARGET_SCHEMA>

/** A target ready to send to: its secret read, every default filled in. */
export interface AlertTarget {
  name: string
  type: TargetType
  /** The URL posted to. A secret for webhooks and Slack: never logged or printed. */
  url: string
  /** PagerDuty's routing key: a secret. */
  routingKey?: string
  /** Where the secret comes from, for people: `$K2OPS_SLACK_WEBHOOK` or `config.json`. */
  secretFrom: string
  events: ReadonlySet<AlertEvent>
  resolved: boolean
  timeoutMs: number
  retries: number
  retryDelayMs: number
}

export const DEFAULT_TIMEOUT_SECONDS = 5
export const DEFAULT_RETRIES = 3
export const DEFAULT_RETRY_DELAY_SECONDS = 2

/**
 * The configured targets with their secrets from the environment. A secret that is named but not
 * set is an error naming the variable (never its value): a target that cannot send is no target.
 */
export function alertTargets(configs: readonly TargetConfig[] | undefined, env: NodeJS.ProcessEnv, where: string): AlertTarget[] {
  return (configs ?? []).map((config, index) => {
    const at = `${where}: alerts.${index} (${config.name})`
    const secret = (value: string | undefined, envKey: string | undefined, what: string, required: boolean): {value?: string; from: string} => {
      if (value !== undefined && envKey !== undefined) throw new UsageError(`${at}: give the ${what} or the variable that holds it, not both`, {code: 'bad_config'})
      if (envKey !== undefined) {
        const fromEnv = env[envKey]?.trim()
        if (!fromEnv) throw new UsageError(`${at}: ${envKey} is not set (it holds the ${what})`, {code: 'bad_config', hint: `export ${envKey}=… in the environment the scheduler runs in`})
        return {value: fromEnv, from: `$${envKey}`}
      }
      if (value === undefined && required) throw new UsageError(`${at}: no ${what}: set ${what === 'URL' ? 'url or urlEnv' : 'routingKey or routingKeyEnv'}`, {code: 'bad_config'})
      return {value, from: 'config.json'}
    }

    const isPagerDuty = config.type === 'pagerduty'
    const address = secret(config.url, config.urlEnv, 'URL', !isPagerDuty)
    const key = isPagerDuty ? secret(config.routingKey, config.routingKeyEnv, 'routing key', true) : undefined
    if (!isPagerDuty && (config.routingKey !== undefined || config.routingKeyEnv !== undefined)) {
      throw new UsageError(`${at}: a routing key is for pagerduty targets only`, {code: 'bad_config'})
    }
    if (address.value !== undefined && !URL.canParse(address.value)) throw new UsageError(`${at}: the URL in ${address.from} is not a URL`, {code: 'bad_config'})
    return {
      name: config.name,
      type: config.type,
      url: address.value ?? PAGERDUTY_EVENTS_URL,
      ...(key && {routingKey: key.value}),
      secretFrom: key ? key.from : address.from,
      events: new Set(config.events ?? ALERT_EVENTS),
      resolved: config.resolved ?? true,
      timeoutMs: (config.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      retries: config.retries ?? DEFAULT_RETRIES,
      retryDelayMs: (config.retryDelaySeconds ?? DEFAULT_RETRY_DELAY_SECONDS) * 1000,
    }
  })
}

/** Every secret of the targets, for scrubbing error texts before they are written anywhere. */
export function secretsOf(targets: readonly AlertTarget[]): string[] {
  return targets.flatMap((target) => [target.type === 'pagerduty' && target.url === PAGERDUTY_EVENTS_URL ? undefined : target.url, target.routingKey]).filter((secret): secret is string => Boolean(secret))
}

/** The text with every secret replaced by `***` (longest first, so a URL goes before its prefix). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join('***')
  return out
}
