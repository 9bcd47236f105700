import {chmodSync, existsSync, mkdirSync, readFileSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {UsageError} from './errors.js'

/** Settings read from `<home>/config.json`; flags and `K2OPS_*` variables take precedence. */
export interface FileConfig {
  warehouse?: string
  lockTimeoutSeconds?: number
  memoryLimit?: string
  threads?: number
  /** Overrides of the checks' thresholds (see src/checks/thresholds.ts). */
  thresholds?: Record<string, unknown>
  /** Per deployment: cron, lookback, retries, retryDelaySeconds, timeoutSeconds, paused (see deployments.ts). */
  deployments?: Record<string, unknown>
  /** The scheduler daemon: its API port on 127.0.0.1 (0: any free port), log rotation. */
  scheduler?: {port?: number; logMaxBytes?: number; logFiles?: number}
  /** Retention policies in days per timeframe, and an optional one for source trades (off by default). */
  retention?: Record<string, unknown>
  /** The trade times ingest accepts: from earliestTime (ISO-8601) to now + maxFuture (a duration such as 1d). */
  ingest?: {earliestTime?: string; maxFuture?: string}
}

export interface Home {
  dir: string
  configFile: string
  config: FileConfig
  warehouse: string
  stateDir: string
  logsDir: string
  runHistoryFile: string
  /** The audit trail of destructive commands (retention, recover). */
  auditFile: string
  lockTimeoutMs: number
  memoryLimit: string
  threads?: number
}

export interface HomeOptions {
  home?: string
  warehouse?: string
  lockTimeoutSeconds?: number
  /** oclif's data directory for k2ops, the default home. */
  defaultDir: string
  env?: NodeJS.ProcessEnv
}

const DEFAULT_LOCK_TIMEOUT_SECONDS = 10
const DEFAULT_MEMORY_LIMIT = '1GB'

/** Resolves flags > environment > config file > defaults, and makes the home a private (0700) directory. */
export function resolveHome(options: HomeOptions): Home {
  const env = options.env ?? process.env
  const dir = resolve(options.home ?? env.K2OPS_HOME ?? options.defaultDir)
  ensurePrivateDir(dir)
  const configFile = join(dir, 'config.json')
  const config = readConfig(configFile)
  const stateDir = join(dir, 'state')
  const logsDir = join(dir, 'logs')
  const warehouse = resolve(dir, options.warehouse ?? env.K2OPS_WAREHOUSE ?? config.warehouse ?? 'warehouse.duckdb')
  const lockTimeoutSeconds = options.lockTimeoutSeconds ?? numberFromEnv(env, 'K2OPS_LOCK_TIMEOUT') ?? config.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS
  return {
    dir,
    configFile,
    config,
    warehouse,
    stateDir,
    logsDir,
    runHistoryFile: join(stateDir, 'runs.jsonl'),
    auditFile: join(stateDir, 'audit.jsonl'),
    lockTimeoutMs: lockTimeoutSeconds * 1000,
    memoryLimit: env.K2OPS_MEMORY_LIMIT ?? config.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
    threads: numberFromEnv(env, 'K2OPS_THREADS') ?? config.threads,
  }
}

export function ensurePrivateDir(dir: string): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    return
  }

  if (!statSync(dir).isDirectory()) throw new UsageError(`home: ${dir} exists and is not a directory`, {code: 'bad_home'})
  // A home we created may have been loosened by a umask or a copy; keep it private.
  if ((statSync(dir).mode & 0o077) !== 0) {
    try {
      chmodSync(dir, 0o700)
    } catch {
      // Not ours to change (e.g. a shared mount): the data still works, only privacy is weaker.
    }
  }
}

function readConfig(file: string): FileConfig {
  if (!existsSync(file)) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new UsageError(`${file}: not valid JSON (${(error as Error).message})`, {code: 'bad_config'})
  }

  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${file}: expected a JSON object`, {code: 'bad_config'})
  }

  const config = parsed as Record<string, unknown>
  const checks: Array<[keyof FileConfig, string]> = [
    ['warehouse', 'string'],
    ['lockTimeoutSeconds', 'number'],
    ['memoryLimit', 'string'],
    ['threads', 'number'],
    ['thresholds', 'object'],
    ['deployments', 'object'],
    ['scheduler', 'object'],
    ['retention', 'object'],
  ]
  for (const [key, type] of checks) {
    if (config[key] !== undefined && typeof config[key] !== type) {
      throw new UsageError(`${file}: ${key}: expected a ${type}`, {code: 'bad_config'})
    }
  }

  return config as FileConfig
}

function numberFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`${name}: '${raw}' is not a non-negative number`, {code: 'bad_config'})
  return value
}
