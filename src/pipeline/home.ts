import {existsSync, mkdirSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'

import type {FileConfig} from './config-schema.js'

import {checkedLockTimeout, readConfigFile, settingsFromEnv} from './config-file.js'
import {UsageError} from './errors.js'

/** Settings read from `<home>/config.json` (see config-schema.ts); flags and `K2OPS_*` variables take precedence. */
export type {FileConfig}

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

/** Resolves flags > environment > config file > defaults; a home it creates is private (0700). */
export function resolveHome(options: HomeOptions): Home {
  const env = options.env ?? process.env
  const dir = resolve(options.home ?? env.K2OPS_HOME ?? options.defaultDir)
  ensurePrivateDir(dir)
  const configFile = join(dir, 'config.json')
  const config = readConfigFile(configFile)
  const fromEnv = settingsFromEnv(env)
  const stateDir = join(dir, 'state')
  const logsDir = join(dir, 'logs')
  const warehouse = resolve(dir, options.warehouse ?? env.K2OPS_WAREHOUSE ?? config.warehouse ?? 'warehouse.duckdb')
  const lockTimeoutSeconds = checkedLockTimeout(options.lockTimeoutSeconds, '--lock-timeout') ?? fromEnv.lockTimeoutSeconds ?? config.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS
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
    memoryLimit: fromEnv.memoryLimit ?? config.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
    threads: fromEnv.threads ?? config.threads,
  }
}

/**
 * The home must be a folder only its owner can write to: the run history, the token and the config
 * in it steer what k2ops runs. A home k2ops creates is made 0700; an existing folder keeps its
 * mode (`--home /tmp` must not change /tmp), and one that others can write to is refused.
 */
function ensurePrivateDir(dir: string): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    return
  }

  const stats = statSync(dir)
  if (!stats.isDirectory()) throw new UsageError(`home: ${dir} exists and is not a directory`, {code: 'bad_home'})
  const mode = stats.mode & 0o7777
  const writers = [mode & 0o020 && 'its group', mode & 0o002 && 'others'].filter(Boolean)
  if (writers.length > 0) {
    const octal = mode.toString(8).padStart(4, '0')
    throw new UsageError(`home: ${dir} is writable by ${writers.join(' and ')} (mode ${octal}); use a directory only you can write to`, {code: 'unsafe_home'})
  }
}
