import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import type {Home, SparkCatalogSettings} from '../../home.js'

import {WarehouseBusyError} from '../../errors.js'
import {privateDir} from '../../private-files.js'
import {releaseLockFile, tryLockFile} from './lock-file.js'

/**
 * One Spark target: a namespace of a catalog, as this home reaches it. Iceberg commits are
 * optimistic and take no file lock, so k2ops keeps its own per target: flows, retention, recover
 * and maintenance never overlap on it (DESIGN.md, "The warehouse file and locking").
 */
export interface SparkTarget {
  /** `iceberg.market_data`: for messages and the run history. */
  name: string
  /** A short digest of what identifies the target (catalog location and namespace). */
  key: string
}

export function sparkTarget(home: Pick<Home, 'spark'>): SparkTarget {
  const {catalog, namespace} = home.spark
  return {name: `${catalog.name}.${namespace}`, key: digest([catalogIdentity(catalog), namespace])}
}

function catalogIdentity(catalog: SparkCatalogSettings): string {
  return JSON.stringify([catalog.name, catalog.type, catalog.warehouse ?? '', catalog.uri ?? ''])
}

export function digest(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 12)
}

export interface TargetLockOptions {
  operation: string
  /** Which of the target's locks: the writers' (default), or ingest's own (an ingest may run beside a flow, not beside another ingest). */
  name?: 'ingest'
  lockTimeoutMs: number
  /** For tests: how often to retry. */
  retryEveryMs?: number
}

/** A held target lock; release it when the operation is done. */
export interface TargetLock {
  readonly file: string
  release(): void
}

export function targetLockFile(home: Pick<Home, 'spark' | 'stateDir'>, name?: 'ingest'): string {
  const target = sparkTarget(home)
  return join(home.stateDir, 'locks', `spark-${target.name}-${target.key}${name ? `-${name}` : ''}.lock`)
}

/**
 * Takes the target's lock, waiting up to lockTimeoutMs for another holder; then fails with the
 * busy error (exit 4) naming the holder, as DuckDB's warehouse does.
 */
export async function lockTarget(home: Pick<Home, 'spark' | 'stateDir'>, options: TargetLockOptions): Promise<TargetLock> {
  const file = targetLockFile(home, options.name)
  privateDir(join(home.stateDir, 'locks'))
  const deadline = Date.now() + options.lockTimeoutMs
  for (;;) {
    const attempt = tryLockFile(file, options.operation)
    if (attempt.acquired) return {file, release: () => releaseLockFile(file)}
    if (Date.now() >= deadline) {
      const waited = `${(options.lockTimeoutMs / 1000).toFixed(options.lockTimeoutMs % 1000 ? 1 : 0)} s`
      const {holder} = attempt
      const target = sparkTarget(home).name
      if (!holder) throw new WarehouseBusyError(`target ${target} is busy: another process holds it; waited ${waited}`)
      const {pidStartTicks: _, ...note} = holder
      throw new WarehouseBusyError(`target ${target} is busy: pid ${holder.pid} (${holder.operation}, since ${holder.since}) holds it; waited ${waited}`, note)
    }

    await sleep(options.retryEveryMs ?? 200)
  }
}

/** Holds the target's lock while `work` runs. */
export async function withTargetLock<T>(home: Pick<Home, 'spark' | 'stateDir'>, options: TargetLockOptions, work: () => Promise<T>): Promise<T> {
  const lock = await lockTarget(home, options)
  try {
    return await work()
  } finally {
    lock.release()
  }
}
