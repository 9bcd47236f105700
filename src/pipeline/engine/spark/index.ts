import type {Home} from '../../home.js'
import type {EngineOpenOptions} from '../engine.js'
import type {TapeValidator} from './ingest.js'
import type {SparkSql} from './spark-engine.js'

import {UsageError} from '../../errors.js'
import {asCommitConflict} from './commit-conflict.js'
import {SparkSession} from './session.js'
import {SparkEngine} from './spark-engine.js'
import {lockTarget} from './target-lock.js'

/**
 * Opens the Spark engine of a home: the target's lock (flows, backfill, recover and retention never
 * overlap on it; ingest takes a lock of its own, as it may run beside them under snapshot
 * isolation), then a session on the target's warm driver. A target without the trades table is
 * refused unless the command may create it (options.create: init, ingest, demo).
 */
export async function openSparkEngine(home: Home, options: EngineOpenOptions, validate: TapeValidator): Promise<SparkEngine> {
  const lock = options.readOnly
    ? undefined
    : await lockTarget(home, {operation: options.operation, lockTimeoutMs: options.lockTimeoutMs, retryEveryMs: options.retryEveryMs, name: options.role})
  let session: SparkSession | undefined
  try {
    session = await SparkSession.connect(home)
    const connected = session
    const sql: SparkSql = {sql: (statements) => connected.sql(statements, {collect: 'each'})}
    const catalog = home.spark.catalog.name
    const engine = new SparkEngine({sql: (statements) => sql.sql(statements).catch(async (error) => Promise.reject(await asCommitConflict(sql, catalog, error)))}, {catalog, namespace: home.spark.namespace}, {
      validate,
      release: async () => {
        connected.close()
        lock?.release()
      },
    })
    // A command that may create the target (init, ingest, demo) ensures the schema itself.
    if (!options.create && !(await engine.hasTables())) {
      throw new UsageError(`no k2ops tables in ${engine.target}`, {code: 'no_warehouse', hint: 'Run `k2ops init` (or `k2ops ingest FILE`) first, or check spark.catalog and spark.namespace in the config.'})
    }

    return engine
  } catch (error) {
    session?.close()
    lock?.release()
    throw error
  }
}
