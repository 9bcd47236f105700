import {chmodSync, existsSync, mkdirSync, statSync} from 'node:fs'
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

/** Resolves flags > environment > config file > defaults, and makes the home a private (0700) directory. */
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
