import {Cron} from 'croner'

import {checkedSection, updateConfigFile} from './config-file.js'
import {DEPLOYMENTS_SCHEMA, MAINTENANCE_DEPLOYMENT, RETRYABLE_FAILURES} from './config-schema.js'
import {UsageError} from './errors.js'
import {parseDuration} from './time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from './timeframes.js'

/** One scheduled job: a runbook's flow deployment or the table maintenance, with the settings the config file may change. */
export interface Deployment {
  name: string
  flow: string
  /** The flow's timeframe; null for the maintenance deployment. */
  timeframe: Timeframe | null
  /** The k2ops command an attempt runs: `trigger 1m`, `maintain`. */
  command: string[]
  /** Five-field cron, evaluated in UTC. */
  cron: string
  lookbackMicros: number
  retries: number
  retryDelaySeconds: number
  /** The delay before retry n is retryDelaySeconds × retryBackoff^(n−1), plus up to retryJitterSeconds. */
  retryBackoff: number
  retryJitterSeconds: number
  /** The failures retried: a busy warehouse, an engine that could not start, any other but a data error. */
  retryOn: RetryableFailure[]
  timeoutSeconds: number
  paused: boolean
  /** The runbook's duration target. */
  targetSeconds: number
}

/** The sixth deployment: daily table maintenance (`k2ops maintain`), short name `maintain`. */
export const MAINTENANCE = {
  name: MAINTENANCE_DEPLOYMENT,
  flow: 'Table-Maintenance',
  alias: 'maintain',
  cron: '30 3 * * *',
  /** Compaction of a large table takes longer than a flow may. */
  timeoutSeconds: 3600,
  targetSeconds: 600,
} as const

/** What `<home>/config.json` may say of a deployment, under `deployments.<name>`. */
export interface DeploymentOverrides {
  cron?: string
  /** A duration: `10m`, `2h`, `2d`. */
  lookback?: string
  retries?: number
  retryDelaySeconds?: number
  retryBackoff?: number
  retryJitterSeconds?: number
  retryOn?: RetryableFailure[]
  timeoutSeconds?: number
  paused?: boolean
}

export type RetryableFailure = (typeof RETRYABLE_FAILURES)[number]

export const DEFAULT_RETRIES = 2
export const DEFAULT_RETRY_DELAY_SECONDS = 60
export const DEFAULT_TIMEOUT_SECONDS = 300
/** A flow that found the warehouse busy, or its engine not starting, may well succeed a minute later; a failing query would fail again. */
export const DEFAULT_RETRY_ON: RetryableFailure[] = ['busy', 'engine']

/**
 * The five flow deployments of the runbook and the maintenance one, with the config file's
 * overrides laid over them. Maintenance is paused by default on DuckDB (where it is a checkpoint and
 * nothing more) and active on Spark, whose Iceberg tables need it.
 */
export function loadDeployments(overrides: unknown, where = 'config.json: deployments', engine: 'duckdb' | 'spark' = 'duckdb'): Deployment[] {
  // The schema checks every setting (cron included) and rejects unknown deployment names.
  const byName: Record<string, DeploymentOverrides | undefined> = checkedSection(DEPLOYMENTS_SCHEMA, overrides, where)
  const settings = (own: DeploymentOverrides) => ({
    retries: own.retries ?? DEFAULT_RETRIES,
    retryDelaySeconds: own.retryDelaySeconds ?? DEFAULT_RETRY_DELAY_SECONDS,
    retryBackoff: own.retryBackoff ?? 1,
    retryJitterSeconds: own.retryJitterSeconds ?? 0,
    retryOn: own.retryOn ?? DEFAULT_RETRY_ON,
    timeoutSeconds: own.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
  })
  const flows = TIMEFRAMES.map((tf): Deployment => {
    const spec = TIMEFRAME_SPECS[tf]
    const own = byName[spec.deployment] ?? {}
    return {
      name: spec.deployment,
      flow: spec.flow,
      timeframe: tf,
      command: ['trigger', tf],
      cron: own.cron ?? spec.cron,
      lookbackMicros: own.lookback === undefined ? spec.lookbackMicros : parseDuration(own.lookback, `${where}.${spec.deployment}.lookback`),
      ...settings(own),
      paused: own.paused ?? false,
      targetSeconds: spec.targetSeconds,
    }
  })
  const own = byName[MAINTENANCE.name] ?? {}
  const maintenance: Deployment = {
    name: MAINTENANCE.name,
    flow: MAINTENANCE.flow,
    timeframe: null,
    command: ['maintain'],
    cron: own.cron ?? MAINTENANCE.cron,
    lookbackMicros: 0,
    ...settings(own),
    timeoutSeconds: own.timeoutSeconds ?? MAINTENANCE.timeoutSeconds,
    paused: own.paused ?? engine === 'duckdb',
    targetSeconds: MAINTENANCE.targetSeconds,
  }
  return [...flows, maintenance]
}

/** The deployment called `name` (or its timeframe, `1m`, or `maintain`), or a usage error listing the names. */
export function findDeployment(deployments: Deployment[], name: string): Deployment {
  const alias = (deployment: Deployment) => deployment.timeframe ?? MAINTENANCE.alias
  const found = deployments.find((deployment) => deployment.name === name || alias(deployment) === name || deployment.flow === name)
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
  updateConfigFile(configFile, (config) => {
    const deployments = (typeof config.deployments === 'object' && config.deployments !== null ? config.deployments : {}) as Record<string, DeploymentOverrides>
    deployments[name] = {...deployments[name], paused}
    config.deployments = deployments
  })
}
