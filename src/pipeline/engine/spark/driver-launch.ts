import {spawn} from 'node:child_process'
import {closeSync, existsSync, renameSync, statSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

import type {SparkSettings} from '../../home.js'
import type {DriverFiles, DriverNote} from './driver-files.js'
import type {SparkInstall} from './install.js'

import {UsageError} from '../../errors.js'
import {openPrivateFile, privateDir, writePrivateFile} from '../../private-files.js'
import {processStartTime} from '../../process-owner.js'
import {formatMillis} from '../../time.js'
import {DriverConnection, tryConnect} from './driver-client.js'
import {SparkError} from './spark-error.js'

const ICEBERG_EXTENSIONS = 'org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions'
/** Linux's limit for a Unix socket's path (sun_path is 108 bytes, with its terminating zero). */
const MAX_SOCKET_PATH = 107
/** The shared log is moved aside to <log>.1 when a driver starts and finds it this large. */
const LOG_ROTATE_BYTES = 32 * 1024 * 1024

/**
 * The Spark properties a driver starts with: Iceberg's SQL extensions (MERGE, CALL), the catalog,
 * UTC and ANSI mode (k2ops' exactness rests on both), then the user's own. No secret is ever among
 * them: the command line is visible to every user of the machine.
 */
export function sparkConf(spark: SparkSettings): Record<string, string> {
  const {catalog} = spark
  const prefix = `spark.sql.catalog.${catalog.name}`
  const conf: Record<string, string> = {
    'spark.ui.enabled': 'false',
    'spark.ui.showConsoleProgress': 'false',
    // k2ops' jobs read days, not terabytes: a few shuffle partitions per core, not Spark's 200 (a cluster's conf may raise it).
    'spark.sql.shuffle.partitions': '8',
    // Spark's default hides secret, password, token and access.key values; a REST catalog's is a credential.
    'spark.redaction.regex': '(?i)secret|password|token|access[.]key|credential',
    ...spark.conf,
    'spark.sql.extensions': withExtension(spark.conf['spark.sql.extensions']),
    [prefix]: 'org.apache.iceberg.spark.SparkCatalog',
    [`${prefix}.type`]: catalog.type,
    ...(catalog.warehouse ? {[`${prefix}.warehouse`]: catalog.warehouse} : {}),
    ...(catalog.uri ? {[`${prefix}.uri`]: catalog.uri} : {}),
    ...Object.fromEntries(Object.entries(catalog.properties).map(([key, value]) => [`${prefix}.${key}`, value])),
    'spark.sql.session.timeZone': 'UTC',
    'spark.sql.ansi.enabled': 'true',
    // Exact decimals (DESIGN.md, candle semantics 2): price × quantity keeps its 16 places, and a
    // value that would not fit is an error (ANSI), never rounded to 6 places.
    'spark.sql.decimalOperations.allowPrecisionLoss': 'false',
    'spark.driver.extraJavaOptions': [spark.conf['spark.driver.extraJavaOptions'], '-Duser.timezone=UTC'].filter(Boolean).join(' '),
  }
  return conf
}

function withExtension(configured: string | undefined): string {
  const extensions = (configured ?? '').split(',').map((name) => name.trim()).filter(Boolean)
  return [...new Set([ICEBERG_EXTENSIONS, ...extensions])].join(',')
}

/** spark-submit's arguments for the driver of `files`. */
export function submitArgs(spark: SparkSettings, install: SparkInstall, files: DriverFiles, driverScript: string): string[] {
  const args = ['--master', spark.master, '--name', 'k2ops']
  if (install.jars.length > 0) args.push('--jars', install.jars.join(','))
  for (const [key, value] of Object.entries(sparkConf(spark))) args.push('--conf', `${key}=${value}`)
  args.push(driverScript, '--socket', files.socket, '--idle-timeout', String(spark.idleTimeoutMs / 1000), '--catalog', spark.catalog.name, '--log', files.log)
  return args
}

export interface StartOptions {
  deadline: number
  /** A line for people while the driver starts (on a TTY). */
  progress?: (line: string) => void
}

/**
 * Starts a driver detached (its own process group, so it outlives this command and stays warm for
 * the next), its output appended to the log, and waits until it answers a ping. A driver that dies
 * or does not answer by the deadline is an error that points at the log; one still starting then is
 * stopped, so that no half-started driver is left behind.
 */
export async function startDriver(spark: SparkSettings, install: SparkInstall, files: DriverFiles, driverScript: string, options: StartOptions): Promise<DriverConnection> {
  if (Buffer.byteLength(files.socket) > MAX_SOCKET_PATH) {
    throw new UsageError(`the Spark driver's socket path is too long for a Unix socket (${Buffer.byteLength(files.socket)} bytes, at most ${MAX_SOCKET_PATH}): ${files.socket}`, {
      code: 'home_path_too_long',
      hint: 'Use a shorter --home (K2OPS_HOME).',
    })
  }

  privateDir(files.dir)
  privateDir(files.log.slice(0, files.log.lastIndexOf('/')))
  rotateLog(files.log)
  const log = openPrivateFile(files.log, 'a')
  const started = Date.now()
  options.progress?.(`starting Spark (${spark.master})…`)
  const child = spawn(install.sparkSubmit, submitArgs(spark, install, files, driverScript), {
    cwd: files.dir,
    detached: true,
    stdio: ['ignore', log, log],
    env: driverEnv(install),
  })
  closeSync(log)
  let exited: string | undefined
  child.once('exit', (code, signal) => {
    exited = signal ? `killed by ${signal}` : `exit code ${code}`
  })
  child.once('error', (error) => {
    exited = error.message
  })
  child.unref()
  if (child.pid === undefined) throw new SparkError({error: `spark-submit did not start: ${exited ?? 'unknown reason'}`, kind: 'StartFailed'}, files.log, {code: 'spark_start_failed'})
  const note: DriverNote = {pid: child.pid, pidStartTicks: processStartTime(child.pid), master: spark.master, target: files.target, startedAt: formatMillis(started), socket: files.socket}
  writePrivateFile(files.note, JSON.stringify(note) + '\n')

  for (;;) {
    const connection = await tryConnect(files.socket)
    if (connection) {
      options.progress?.(`Spark ready (${((Date.now() - started) / 1000).toFixed(1)} s)`)
      return connection
    }

    if (exited !== undefined) {
      throw new SparkError({error: `the Spark driver stopped while starting (${exited})`, kind: 'StartFailed'}, files.log, {code: 'spark_start_failed'})
    }

    if (Date.now() >= options.deadline) {
      killGroup(child.pid, 'SIGKILL')
      const waited = ((Date.now() - started) / 1000).toFixed(0)
      throw new SparkError({error: `the Spark driver did not start within ${waited} s`, kind: 'StartTimeout'}, files.log, {code: 'spark_start_timeout'})
    }

    await sleep(200)
  }
}

function driverEnv(install: SparkInstall): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, SPARK_HOME: install.sparkHome, TZ: 'UTC'}
  if (install.python && !env.PYSPARK_PYTHON) env.PYSPARK_PYTHON = install.python
  return env
}

/** Signals a driver's whole process group (the JVM and its Python), ignoring one that is gone. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // Gone already.
  }
}

function rotateLog(file: string): void {
  try {
    if (existsSync(file) && statSync(file).size > LOG_ROTATE_BYTES) renameSync(file, `${file}.1`)
  } catch {
    // A log that cannot be moved is appended to.
  }
}
