import {Cron} from 'croner'
import {existsSync, readFileSync, renameSync, writeFileSync} from 'node:fs'

import {checkedSection} from './config-file.js'
import {DEPLOYMENTS_SCHEMA} from './config-schema.js'
import {UsageError} from './errors.js'
import {parseDuration} from './time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from './timeframes.js'

/** One scheduled flow: the runbook's deployment, with the settings the config file may change. */
export interface Deployment {
  name: string
  flow: string
  timeframe: Timeframe
  /** Five-field cron, evaluated in UTC. */
  cron: string
  lookbackMicros: number
  retries: number
  retryDelaySeconds: number
  timeoutSeconds: number
  paused: boolean
  /** The runbook's duration target. */
  targetSeconds: number
}

/** What `<home>/config.json` may say of a deployment, under `deployments.<name>`. */
export interface DeploymentOverrides {
  cron?: string
  /** A duration: `10m`, `2h`, `2d`. */
  lookback?: string
  retries?: number
  retryDelaySeconds?: number
  timeoutSeconds?: number
  paused?: boolean
}

export const DEFAULT_RETRIES = 2
export const DEFAULT_RETRY_DELAY_SECONDS = 60
export const DEFAULT_TIMEOUT_SECONDS = 300

/** The five deployments of the runbook, with the config file's overrides laid over them. */
export function loadDeployments(overrides: unknown, where = 'config.json: deployments'): Deployment[] {
  // The schema checks every setting (cron included) and rejects unknown deployment names.
  const byName: Record<string, DeploymentOverrides | undefined> = checkedSection(DEPLOYMENTS_SCHEMA, overrides, where)
  return TIMEFRAMES.map((tf) => {
    const spec = TIMEFRAME_SPECS[tf]
    const own = byName[spec.deployment] ?? {}
    const path = `${where}.${spec.deployment}`
    const deployment: Deployment = {
      name: spec.deployment,
      flow: spec.flow,
      timeframe: tf,
      cron: own.cron ?? spec.cron,
      lookbackMicros: own.lookback === undefined ? spec.lookbackMicros : parseDuration(own.lookback, `${path}.lookback`),
      retries: own.retries ?? DEFAULT_RETRIES,
      retryDelaySeconds: own.retryDelaySeconds ?? DEFAULT_RETRY_DELAY_SECONDS,
      timeoutSeconds: own.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
      paused: own.paused ?? false,
      targetSeconds: spec.targetSeconds,
    }
    return deployment
  })
}

/** The deployment called `name` (or its timeframe, `1m`), or a usage error listing the names. */
export function findDeployment(deployments: Deployment[], name: string): Deployment {
  const found = deployments.find((deployment) => deployment.name === name || deployment.timeframe === name || deployment.flow === name)
  if (!found) throw new UsageError(`unknown deployment '${name}' (expected one of ${deployments.map((d) => d.name).join(', ')})`, {code: 'unknown_deployment'})
  return found
}

/** The next `count` run times of a cron after `afterMs` (exclusive), in UTC. */
export function nextRunTimes(cron: string, afterMs: number, count = 1): number[] {
  return new Cron(cron, {timezone: 'UTC', paused: true}).nextRuns(count, new Date(afterMs)).map((date) => date.getTime())
}

/** Every run time of a cron in (afterMs, throughMs], in order. */
export function runTimesBetween(cron: string, afterMs: number, throughMs: number, limit = 100_000): number[] {
  const job = new Cron(cron, {timezone: 'UTC', paused: true})
  const times: number[] = []
  let cursor = new Date(afterMs)
  while (times.length < limit) {
    const next = job.nextRun(cursor)
    if (!next || next.getTime() > throughMs) break
    times.push(next.getTime())
    cursor = next
  }

  return times
}

/** Writes `paused` for one deployment into the config file, keeping everything else in it. */
export function setDeploymentPaused(configFile: string, name: string, paused: boolean): void {
  const config: Record<string, unknown> = existsSync(configFile) ? (JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>) : {}
  const deployments = (typeof config.deployments === 'object' && config.deployments !== null ? config.deployments : {}) as Record<string, DeploymentOverrides>
  deployments[name] = {...deployments[name], paused}
  config.deployments = deployments
  const temporary = `${configFile}.${process.pid}.tmp`
  writeFileSync(temporary, JSON.stringify(config, null, 2) + '\n', {mode: 0o600})
  renameSync(temporary, configFile)
}
