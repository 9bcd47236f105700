import type {SparkSql} from './spark-engine.js'

import {SparkTables} from './tables.js'

/**
 * The bytes of a target's tables as Iceberg's metadata tables count them, in one statement: the
 * data and delete files of each table's current snapshot, and its manifests. Files of expired or
 * older snapshots (until `maintain` removes them) and the metadata JSON files are not counted.
 */
export async function icebergBytes(session: SparkSql, tables: SparkTables): Promise<number> {
  const parts = tables.definitions().flatMap(({name}) => [
    `SELECT coalesce(sum(file_size_in_bytes), 0L) AS bytes FROM ${name}.files`,
    `SELECT coalesce(sum(length), 0L) AS bytes FROM ${name}.manifests`,
  ])
  const [result] = await session.sql([`SELECT sum(bytes) FROM (${parts.join(' UNION ALL ')})`])
  return Number(result.rows[0]?.[0] ?? 0)
}
