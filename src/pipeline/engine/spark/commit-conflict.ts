import type {SparkSql} from './spark-engine.js'

import {ExitCode, K2Error} from '../../errors.js'
import {SparkError} from './spark-error.js'
import {sqlName} from './sql-text.js'

/**
 * Iceberg's commits are optimistic: a commit that finds the table changed since it read it retries
 * (commit.retry.num-retries), and gives up with one of these when the other commit keeps winning or
 * touched the same rows. Within one home the target lock keeps writers of a table apart (an ingest
 * only writes the trades table), so this is another writer of the same catalog.
 */
const CONFLICT_KINDS = new Set(['CommitFailedException', 'ValidationException'])

/** An Iceberg commit that gave up on a concurrent one: exit 4, the table and its conflicting commit named. */
export class CommitConflictError extends K2Error {
  constructor(message: string, cause: SparkError) {
    super(message, {
      code: 'spark_commit_conflict',
      exit: ExitCode.busy,
      hint: `Nothing of this commit was written. Another writer committed to the table meanwhile (another k2ops home on the same catalog, or a job outside k2ops): run the command again when it is done. The Spark driver's log has the details: ${cause.logFile}`,
      cause,
    })
  }
}

/** A table named in Iceberg's messages: `Cannot commit iceberg.market_data.gold_ohlcv_1m because …`, or a data file path under its directory. */
const TABLE_IN_MESSAGE = [/Cannot commit (?:table )?`?([\w.`]+?)`? because/i, /\/([A-Za-z_][\w]*)\/([A-Za-z_][\w]*)\/(?:data|metadata)\//]

/**
 * `error` as the user should meet it: a commit conflict becomes a CommitConflictError naming the
 * table's newest snapshot (the commit it lost to), anything else is returned as it is.
 */
export async function asCommitConflict(session: SparkSql, catalog: string, error: unknown): Promise<unknown> {
  if (!(error instanceof SparkError) || !CONFLICT_KINDS.has(error.kind)) return error
  const reason = error.message.replace(/^Spark: /, '')
  const table = tableOf(reason, catalog)
  const commit = table ? await newestCommit(session, table) : undefined
  const against = commit ? `; the table's newest commit is snapshot ${commit.id} (${commit.operation}, ${commit.at})` : ''
  return new CommitConflictError(`${table ?? 'an Iceberg table'}: the commit gave up on a concurrent commit${against}: ${reason}`, error)
}

function tableOf(message: string, catalog: string): string | undefined {
  const named = TABLE_IN_MESSAGE[0].exec(message)?.[1]?.replaceAll('`', '')
  if (named) return named.split('.').length === 2 ? `${catalog}.${named}` : named
  const path = TABLE_IN_MESSAGE[1].exec(message)
  return path ? `${catalog}.${path[1]}.${path[2]}` : undefined
}

async function newestCommit(session: SparkSql, table: string): Promise<{id: string; operation: string; at: string} | undefined> {
  try {
    const name = table.split('.').map(sqlName).join('.')
    const [result] = await session.sql([`SELECT CAST(snapshot_id AS STRING), operation, CAST(committed_at AS STRING) FROM ${name}.snapshots ORDER BY committed_at DESC LIMIT 1`])
    const row = result.rows[0]
    return row ? {id: String(row[0]), operation: String(row[1]), at: `${String(row[2]).replace(' ', 'T')}Z`} : undefined
  } catch {
    // The conflict is the answer; a table that cannot be read now is named without its commit.
    return undefined
  }
}
