import type {DuckDBConnection, DuckDBInstance, DuckDBValue} from '@duckdb/node-api'

import type {EngineOpenOptions} from '../engine.js'

import {existsSync, readFileSync, rmSync, statSync} from 'node:fs'
import {hostname} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'

import {loadDuckDB} from './duckdb-module.js'
import {LockHolder, UsageError, WarehouseBusyError} from '../../errors.js'
import {PRIVATE_FILE_MODE, tighten, writePrivateFile} from '../../private-files.js'
import {schemaStatements} from './schema.js'
import {formatMillis} from '../../time.js'
import {firstLine} from '../../words.js'

export type SqlParams = DuckDBValue[] | Record<string, DuckDBValue>

/** How a warehouse is opened: the engine seam's options (engine.ts). */
export type OpenOptions = EngineOpenOptions

/**
 * One open warehouse: a DuckDB file held read-write by this process. DuckDB allows one such process
 * per file, so every command opens, works and closes; nothing holds the file between runs.
 */
export class Warehouse {
  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    private readonly holderFile: string,
    /** This open created the file: it is k2ops' to keep 0600. */
    private readonly created: boolean,
  ) {}

  static async open(path: string, options: OpenOptions): Promise<Warehouse> {
    if (!options.create && !existsSync(path)) {
      throw new UsageError(`no warehouse at ${path}`, {code: 'no_warehouse', hint: 'Run `k2ops init` (or `k2ops ingest FILE`) first, or pass --warehouse.'})
    }

    const {DuckDBInstance} = loadDuckDB()
    const settings: Record<string, string> = {memory_limit: options.memoryLimit ?? '1GB'}
    if (options.threads) settings.threads = String(options.threads)
    if (options.readOnly) settings.access_mode = 'READ_ONLY'
    const holderFile = `${path}.holder.json`
    const existed = existsSync(path)
    const deadline = Date.now() + options.lockTimeoutMs
    for (;;) {
      try {
        const instance = await DuckDBInstance.create(path, settings)
        const connection = await instance.connect()
        const warehouse = new Warehouse(path, instance, connection, holderFile, !existed)
        if (!options.readOnly) warehouse.writeHolder(options.operation)
        if (options.create) await warehouse.ensureSchema()
        warehouse.tightenModes()
        return warehouse
      } catch (error) {
        const message = (error as Error).message ?? String(error)
        if (!/Could not set lock on file/i.test(message)) {
          // A file this open created and could not write (a full disk) is empty, and DuckDB would
          // refuse it as "not a valid DuckDB database" ever after: take it away again.
          if (!existed && existsSync(path) && statSync(path).size === 0) rmSync(path, {force: true})
          // The cause goes along: a full disk is told as such (disk-full.ts), not as a usage error.
          throw new UsageError(`${path}: cannot open the warehouse: ${firstLine(message)}`, {code: 'warehouse_unreadable', cause: error})
        }

        if (Date.now() >= deadline) throw busyError(path, holderFile, message, options.lockTimeoutMs)
        await sleep(options.retryEveryMs ?? 200)
      }
    }
  }

  async ensureSchema(): Promise<void> {
    for (const statement of schemaStatements()) await this.run(statement)
  }

  async run(sql: string, params?: SqlParams): Promise<void> {
    await this.connection.run(sql, params)
  }

  /** Rows as plain objects; BIGINT/HUGEINT come back as bigint, DECIMAL/TIMESTAMP as DuckDB values. */
  async all<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params)
    return reader.getRowObjects() as T[]
  }

  /** Rows with every value as JSON-printable (BIGINT, DECIMAL, TIMESTAMP as strings). */
  async json<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params)
    return reader.getRowObjectsJson() as T[]
  }

  async one<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T> {
    const rows = await this.all<T>(sql, params)
    return rows[0]
  }

  /** Runs `work` in one transaction: all of it is stored or none of it. */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    await this.run('BEGIN TRANSACTION')
    try {
      const result = await work()
      await this.run('COMMIT')
      return result
    } catch (error) {
      await this.run('ROLLBACK').catch(() => {})
      throw error
    }
  }

  close(): void {
    this.connection.closeSync()
    this.instance.closeSync()
    this.tightenModes()
    this.removeHolder()
  }

  /**
   * DuckDB creates the file and its .wal with the umask's mode (0644): trades and candles are the
   * owner's alone, like the rest of the home. A warehouse the user made keeps the mode they gave it.
   * A .wal that DuckDB makes later in a session has the umask's mode until DuckDB folds it in and
   * removes it (on close); one still there then is made private when its warehouse is.
   */
  private tightenModes(): void {
    if (this.created) tighten(this.path, PRIVATE_FILE_MODE)
    if (existsSync(this.path) && (statSync(this.path).mode & 0o777) === PRIVATE_FILE_MODE) tighten(`${this.path}.wal`, PRIVATE_FILE_MODE)
  }

  private writeHolder(operation: string): void {
    const holder: LockHolder = {pid: process.pid, operation, since: formatMillis(Date.now()), host: hostname()}
    try {
      writePrivateFile(this.holderFile, JSON.stringify(holder) + '\n')
    } catch {
      // The holder note is advice for others; a read-only directory must not stop the work.
    }
  }

  private removeHolder(): void {
    const holder = readHolder(this.holderFile)
    if (holder?.pid === process.pid) rmSync(this.holderFile, {force: true})
  }
}

/** Opens, runs `work`, and always closes, so the file is free for the next command. */
export async function withWarehouse<T>(path: string, options: OpenOptions, work: (warehouse: Warehouse) => Promise<T>): Promise<T> {
  const warehouse = await Warehouse.open(path, options)
  try {
    return await work(warehouse)
  } finally {
    warehouse.close()
  }
}

export function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder
  } catch {
    return undefined
  }
}

function busyError(path: string, holderFile: string, duckdbMessage: string, waitedMs: number): WarehouseBusyError {
  const pidFromDuckdb = Number(/PID (\d+)/.exec(duckdbMessage)?.[1])
  const holder = readHolder(holderFile)
  const waited = `${(waitedMs / 1000).toFixed(waitedMs % 1000 ? 1 : 0)} s`
  if (holder && (!pidFromDuckdb || holder.pid === pidFromDuckdb)) {
    return new WarehouseBusyError(`warehouse ${path} is busy: pid ${holder.pid} (${holder.operation}, since ${holder.since}) holds it; waited ${waited}`, holder)
  }

  const pid = pidFromDuckdb || undefined
  return new WarehouseBusyError(`warehouse ${path} is busy: ${pid ? `pid ${pid}` : 'another process'} holds it; waited ${waited}`, pid ? {pid, operation: 'unknown', since: ''} : undefined)
}

