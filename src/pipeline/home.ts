import {existsSync, mkdirSync, readdirSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {FileConfig} from './config-schema.js'
import type {EngineKind} from './engine/engine.js'

import {checkedLockTimeout, readConfigFile, settingsFromEnv} from './config-file.js'
import {UsageError} from './errors.js'
import {parseDuration} from './time.js'

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
  /** Which engine holds the trades and candles. */
  engine: EngineKind
  /** The Spark engine's settings, resolved (used when engine is spark). */
  spark: SparkSettings
}

export interface SparkCatalogSettings {
  name: string
  type: 'hadoop' | 'rest' | 'hive'
  warehouse?: string
  uri?: string
  /** More catalog properties, as spark.sql.catalog.<name>.<key>. Secrets are never here (they come from the environment). */
  properties: Record<string, string>
}

export interface SparkSettings {
  master: string
  /** A Spark installation (bin/spark-submit); undefined when none is configured or installed. */
  sparkHome?: string
  jars: string[]
  catalog: SparkCatalogSettings
  namespace: string
  /** More Spark properties for the driver (spark.driver.memory, …). */
  conf: Record<string, string>
  /** The warm driver exits after this long without a request. */
  idleTimeoutMs: number
  /** How long a command waits for a driver to start. */
  startTimeoutMs: number
  /** Where `npm run spark:setup` installs (K2OPS_SPARK_DIR, or .spark in the package's checkout). */
  setupDir: string
}

export interface HomeOptions {
  home?: string
  warehouse?: string
  lockTimeoutSeconds?: number
  engine?: EngineKind
  /** oclif's data directory for k2ops, the default home. */
  defaultDir: string
  env?: NodeJS.ProcessEnv
}

const DEFAULT_LOCK_TIMEOUT_SECONDS = 10
const DEFAULT_MEMORY_LIMIT = '1GB'
/** The package's own folder: dist/pipeline/home.js and src/pipeline/home.ts both sit two below it. */
const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

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
    engine: options.engine ?? fromEnv.engine ?? config.engine ?? 'duckdb',
    spark: resolveSpark(config, dir, env),
  }
}

/**
 * The Spark settings with their defaults: a local master, a hadoop catalog in <home>/iceberg, and
 * Spark and the Iceberg jar from the setup folder when `npm run spark:setup` filled it. Relative
 * paths are relative to the home.
 */
function resolveSpark(config: FileConfig, dir: string, env: NodeJS.ProcessEnv): SparkSettings {
  const spark = config.spark ?? {}
  const where = `${join(dir, 'config.json')}: spark.catalog`
  const type = spark.catalog?.type ?? 'hadoop'
  const uri = spark.catalog?.uri
  if ((type === 'rest' || type === 'hive') && !uri) throw new UsageError(`${where}.uri: required when the catalog type is ${type}`, {code: 'bad_config'})
  const setupDir = resolve(env.K2OPS_SPARK_DIR || join(PACKAGE_DIR, '.spark'))
  const installed = installedSpark(setupDir)
  const path = (value: string) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : resolve(dir, value))
  return {
    master: spark.master ?? 'local[2]',
    sparkHome: spark.sparkHome ? resolve(dir, spark.sparkHome) : (installed.sparkHome ?? (env.SPARK_HOME || undefined)),
    jars: spark.jars ? spark.jars.map(path) : installed.jars,
    catalog: {
      name: spark.catalog?.name ?? 'iceberg',
      type,
      warehouse: spark.catalog?.warehouse ?? (type === 'hadoop' ? `file://${join(dir, 'iceberg')}` : undefined),
      uri,
      properties: textValues(spark.catalog?.properties),
    },
    namespace: spark.namespace ?? 'market_data',
    conf: textValues(spark.conf),
    idleTimeoutMs: parseDuration(spark.idleTimeout ?? '15m', '') / 1000,
    startTimeoutMs: parseDuration(spark.startTimeout ?? '180s', '') / 1000,
    setupDir,
  }
}

function textValues(values: Record<string, string | number | boolean> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(values ?? {}).map(([key, value]) => [key, String(value)]))
}

/** What the setup script installed: pyspark's package folder (a SPARK_HOME) in its venv, and the jars. */
function installedSpark(setupDir: string): {sparkHome?: string; jars: string[]} {
  const lib = join(setupDir, 'venv', 'lib')
  const python = listDir(lib).find((name) => existsSync(join(lib, name, 'site-packages', 'pyspark', 'bin', 'spark-submit')))
  const jarsDir = join(setupDir, 'jars')
  return {
    sparkHome: python ? join(lib, python, 'site-packages', 'pyspark') : undefined,
    jars: listDir(jarsDir).filter((name) => name.endsWith('.jar')).sort().map((name) => join(jarsDir, name)),
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
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
