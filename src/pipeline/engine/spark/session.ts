import {existsSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import type {Home} from '../../home.js'
import type {DriverConnection} from './driver-client.js'
import type {DriverFailure} from './spark-error.js'

import {privateDir} from '../../private-files.js'
import {isOwnerAlive} from '../../process-owner.js'
import {DriverFiles, driverFiles, readDriverNote} from './driver-files.js'
import {tryConnect} from './driver-client.js'
import {killGroup, sparkConf, startDriver} from './driver-launch.js'
import {DRIVER_SCRIPT, SparkInstall, checkSparkInstall} from './install.js'
import {releaseLockFile, tryLockFile} from './lock-file.js'
import {SparkError} from './spark-error.js'
import {logStatements, statementLogFile} from './statement-log.js'
import {sparkTarget} from './target-lock.js'

/** A value as the driver sends it: BIGINT and DECIMAL as exact text, TIMESTAMP as ISO-8601 UTC text. */
export type SparkValue = string | number | boolean | null | SparkValue[] | {[key: string]: SparkValue}

/** One statement's result: its columns, Spark's type of each (`bigint`, `decimal(18,8)`), its rows. */
export interface SparkResult {
  columns: string[]
  types: string[]
  rows: SparkValue[][]
}

export interface SqlOptions {
  /** Which statements' rows come back: the last one's (default) or each one's. */
  collect?: 'last' | 'each'
}

export interface ConnectOptions {
  /** Lines for people while a driver starts; default: stderr, on a TTY only. */
  progress?: (line: string) => void
  env?: NodeJS.ProcessEnv
}

type Answer = ({ok: true; results: SparkResult[]; ms: number} | ({ok: false} & DriverFailure))

/**
 * A connection to the warm Spark driver of a home's target (spark/driver.py). The driver is started
 * on first use and stays up between commands until its idle timeout, so a command pays a Spark
 * cold start (seconds) only when none is running. Statements run one request at a time.
 */
export class SparkSession {
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(
    private readonly home: Home,
    private readonly install: SparkInstall,
    private readonly files: DriverFiles,
    private connection: DriverConnection,
    private readonly options: ConnectOptions,
  ) {}

  /** Connects to the running driver of the home's target, or starts one (exit 2 when Java or Spark is missing). */
  static async connect(home: Home, options: ConnectOptions = {}): Promise<SparkSession> {
    const install = checkSparkInstall(home.spark, options.env)
    const files = filesFor(home, install)
    const connection = await ensureDriver(home, install, files, options)
    return new SparkSession(home, install, files, connection, options)
  }

  /** `iceberg.market_data` */
  get target(): string {
    return this.files.target
  }

  get logFile(): string {
    return this.files.log
  }

  /** Runs the statements in order as one request; a failing one stops the rest and throws a SparkError. */
  sql(statements: string | string[], options: SqlOptions = {}): Promise<SparkResult[]> {
    const request = {statements: typeof statements === 'string' ? [statements] : statements, collect: options.collect ?? 'last'}
    const run = this.queue.then(() => this.send(request))
    this.queue = run.catch(() => {})
    return run
  }

  /** The last statement's rows as objects keyed by column name. */
  async rows<T = Record<string, SparkValue>>(statements: string | string[]): Promise<T[]> {
    const results = await this.sql(statements)
    return rowObjects<T>(results.at(-1))
  }

  /** The driver's process and versions: proof that it answers. */
  async ping(): Promise<{pid: number; spark: string; master: string}> {
    const run = this.queue.then(async () => {
      if (this.connection.closed) this.connection = await ensureDriver(this.home, this.install, this.files, this.options)
      return this.connection.request<{pid: number; spark: string; master: string}>({op: 'ping'})
    })
    this.queue = run.catch(() => {})
    return run
  }

  /** Closes this command's connection; the driver stays up for the next command. */
  close(): void {
    this.connection.close()
  }

  /** Stops the driver itself (tests, `scheduler stop`). */
  async shutdown(): Promise<void> {
    this.connection.close()
    await stopDriverAt(this.files)
  }

  private async send(request: {statements: string[]}): Promise<SparkResult[]> {
    // A driver that idled out since the last request is started again; one lost mid-request is not retried.
    if (this.connection.closed) this.connection = await ensureDriver(this.home, this.install, this.files, this.options)
    const logFile = statementLogFile(this.options.env)
    const sentAt = Date.now()
    const started = performance.now()
    const log = (answer: Partial<Answer> | undefined, failed?: string) => {
      if (logFile) logStatements(logFile, {statements: request.statements, sentAt, driverMs: answer?.ok ? answer.ms : undefined, roundTripMs: performance.now() - started, failed})
    }

    let answer: Answer
    try {
      answer = await this.connection.request<Answer>(request)
    } catch (error) {
      log(undefined, (error as Error).message)
      throw new SparkError({error: (error as Error).message, kind: 'DriverLost'}, this.files.log, {code: 'spark_driver_lost'})
    }

    log(answer, answer.ok ? undefined : answer.error)
    if (!answer.ok) throw new SparkError(answer, this.files.log)
    return answer.results
  }
}

export function rowObjects<T = Record<string, SparkValue>>(result: SparkResult | undefined): T[] {
  if (!result) return []
  return result.rows.map((row) => Object.fromEntries(result.columns.map((column, index) => [column, row[index]])) as T)
}

/** The driver files for this home's target and launch settings. */
function filesFor(home: Home, install: SparkInstall): DriverFiles {
  return driverFiles(home, {master: home.spark.master, install, conf: sparkConf(home.spark), idle: home.spark.idleTimeoutMs})
}

/**
 * A connection to the target's driver: the running one, or one this command starts. The start
 * guard (an O_EXCL file) lets one command start it while the others wait for its socket.
 */
async function ensureDriver(home: Home, install: SparkInstall, files: DriverFiles, options: ConnectOptions): Promise<DriverConnection> {
  const progress = options.progress ?? ttyProgress()
  const deadline = Date.now() + home.spark.startTimeoutMs
  let toldWaiting = false
  privateDir(files.dir)
  for (;;) {
    const running = await tryConnect(files.socket)
    if (running) return running
    const guard = tryLockFile(files.startLock, `starting Spark for ${files.target}`)
    if (guard.acquired) {
      try {
        // Another command may have finished starting it between the two looks.
        const started = await tryConnect(files.socket)
        if (started) return started
        removeStaleSocket(files)
        return await startDriver(home.spark, install, files, DRIVER_SCRIPT, {deadline, progress})
      } finally {
        releaseLockFile(files.startLock)
      }
    }

    if (!toldWaiting) progress?.(`waiting for Spark (pid ${guard.holder?.pid ?? '?'} is starting it)…`)
    toldWaiting = true
    if (Date.now() >= deadline) {
      throw new SparkError({error: `the Spark driver did not start within ${Math.round(home.spark.startTimeoutMs / 1000)} s (pid ${guard.holder?.pid ?? '?'} was starting it)`, kind: 'StartTimeout'}, files.log, {code: 'spark_start_timeout'})
    }

    await sleep(200)
  }
}

/** A socket left by a driver that died (nothing answers on it) is removed before a new one starts. */
function removeStaleSocket(files: DriverFiles): void {
  const note = readDriverNote(files.note)
  if (note && isOwnerAlive(note)) killGroup(note.pid, 'SIGKILL')
  rmSync(files.socket, {force: true})
}

function ttyProgress(): ((line: string) => void) | undefined {
  return process.stderr.isTTY ? (line) => process.stderr.write(`k2ops: ${line}\n`) : undefined
}

/** Stops the driver of the home's target (its current launch settings); false when none ran. */
export async function stopDriver(home: Home, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const install = checkSparkInstall(home.spark, env)
  return stopDriverAt(filesFor(home, install))
}

/** Stops every driver this home started (`scheduler stop`); returns how many were running. */
export async function stopDrivers(home: Pick<Home, 'stateDir' | 'spark' | 'logsDir'>): Promise<number> {
  const dir = join(home.stateDir, 'spark')
  if (!existsSync(dir)) return 0
  let stopped = 0
  for (const name of readdirSync(dir).filter((entry) => entry.endsWith('.json'))) {
    const base = join(dir, name.slice(0, -'.json'.length))
    const files: DriverFiles = {target: sparkTarget(home).name, dir, socket: `${base}.sock`, note: `${base}.json`, startLock: `${base}.starting`, log: join(home.logsDir, 'spark-driver.log')}
    if (await stopDriverAt(files)) stopped++
  }

  return stopped
}

/** Asks the driver to stop (Spark ends its jobs and closes), then signals its group if it lingers. */
async function stopDriverAt(files: DriverFiles, graceMs = 20_000): Promise<boolean> {
  const note = readDriverNote(files.note)
  const connection = await tryConnect(files.socket)
  const alive = () => note !== undefined && isOwnerAlive(note)
  if (!connection && !alive()) {
    rmSync(files.note, {force: true})
    return false
  }

  if (connection) {
    await connection.request({op: 'shutdown'}).catch(() => {})
    connection.close()
  }

  const deadline = Date.now() + graceMs
  while (alive() && Date.now() < deadline) await sleep(100)
  if (note && alive()) {
    killGroup(note.pid, 'SIGTERM')
    await sleep(2000)
    if (alive()) killGroup(note.pid, 'SIGKILL')
  }

  rmSync(files.socket, {force: true})
  rmSync(files.note, {force: true})
  return true
}
