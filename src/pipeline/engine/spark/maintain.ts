import type {MaintenancePolicy, MaintenanceStep, StorageFigures, TableMaintenance} from '../engine.js'
import type {SparkResult, SparkSql} from './spark-engine.js'
import type {SparkTables} from './tables.js'

import {WarehouseBusyError, errorMessage} from '../../errors.js'
import {formatMillis} from '../../time.js'
import {Cuts, DEFAULT_TARGET_FILE_BYTES, MaintainedTable, cutsNow, SMALL_FILE_SHARE, Written, figuresSql, maintainedTables, planSql, stepsSql, targetSizeSql, writtenSinceSql} from './maintain-sql.js'
import {SparkError} from './spark-error.js'

const num = (value: unknown): number => Number(value ?? 0)

/** What the first request tells of a table: its storage now, its target file size, what was written since the last run. */
interface Survey {
  table: MaintainedTable
  before: StorageFigures
  targetBytes: number
  /** Nothing to compact: no data file added since the last run. */
  nothingWritten: boolean
  written: Written
}

/**
 * Iceberg maintenance of every table of the target, with its own procedures. One request surveys
 * every table; then a dry run reads each step's plan in one more request, and a real run sends each
 * table's rewrites as one request and its expiry and orphan removal as another, then measures again.
 */
export async function maintainSparkTables(session: SparkSql, tables: SparkTables, policy: MaintenancePolicy, options: {dryRun: boolean}): Promise<TableMaintenance[]> {
  const surveys = await survey(session, maintainedTables(tables), policy)
  const {catalog} = tables.target
  if (options.dryRun) {
    const cuts = cutsNow(policy)
    const results = await session.sql(surveys.flatMap((s) => planSql(s.table, s.written, s.targetBytes, cuts, catalog)))
    return surveys.map((s, index) => ({table: s.table.ident, before: s.before, after: null, steps: plannedSteps(s, results.slice(index * 4, index * 4 + 4), cuts)}))
  }

  const done: Array<{survey: Survey; steps: MaintenanceStep[]}> = []
  for (const s of surveys) {
    // No file added since the last run: compaction has nothing new to look at.
    const [compact, manifests] = stepsSql(s.table, s.written, cutsNow(policy), catalog)
    const rewritten = await run(session, tables, s.table, s.nothingWritten ? [manifests] : [compact, manifests])
    // The expiry's cut is taken after the rewrites committed: with a snapshot age of 0 they count too.
    const cuts = cutsNow(policy)
    const expired = await run(session, tables, s.table, stepsSql(s.table, s.written, cuts, catalog).slice(2))
    done.push({survey: s, steps: stepsDone(s, [...(s.nothingWritten ? [undefined] : []), ...rewritten, ...expired], cuts)})
  }

  const after = await session.sql(surveys.map((s) => figuresSql(s.table)))
  return done.map(({survey: s, steps}, index) => ({table: s.table.ident, before: s.before, after: figures(after[index]), steps}))
}

async function survey(session: SparkSql, tables: MaintainedTable[], policy: MaintenancePolicy): Promise<Survey[]> {
  const since = policy.writtenSinceMs
  const perTable = since === undefined ? 2 : 3
  const results = await session.sql(tables.flatMap((table) => [figuresSql(table), targetSizeSql(table), ...(since === undefined ? [] : [writtenSinceSql(table, since)])]))
  return tables.map((table, index) => {
    const [stats, size, written] = results.slice(index * perTable, index * perTable + perTable)
    const target = Number(size.rows[0]?.[1])
    const [first, last, added] = written?.rows[0] ?? []
    return {
      table,
      before: figures(stats),
      targetBytes: Number.isFinite(target) && target > 0 ? target : DEFAULT_TARGET_FILE_BYTES,
      nothingWritten: written !== undefined && num(added) === 0,
      written: first === null || first === undefined || last === null || last === undefined ? undefined : {first: String(first), last: String(last)},
    }
  })
}

function figures(result: SparkResult): StorageFigures {
  const [snapshots, dataFiles, dataBytes, storedFiles, storedBytes] = result.rows[0] ?? []
  return {snapshots: num(snapshots), dataFiles: num(dataFiles), dataBytes: num(dataBytes), storedFiles: num(storedFiles), storedBytes: num(storedBytes)}
}

/** The first row of a procedure's result, keyed by column. */
function counts(result: SparkResult | undefined): Record<string, number> {
  if (!result) return {}
  const row = result.rows[0] ?? []
  return Object.fromEntries(result.columns.map((column, index) => [column, num(row[index])]))
}

function where(s: Survey): string {
  return s.written ? ` of ${s.written.first === s.written.last ? s.written.first : `${s.written.first} … ${s.written.last}`}` : ''
}

function plannedSteps(s: Survey, [small, manifests, expired, orphans]: SparkResult[], policy: Cuts): MaintenanceStep[] {
  const [files, partitions] = small.rows[0] ?? []
  const under = `under ${Math.round((s.targetBytes * SMALL_FILE_SHARE) / 1024 / 1024)} MiB`
  const smallCounts = {smallFiles: num(files), partitions: num(partitions)}
  return [
    s.nothingWritten
      ? {step: 'rewrite_data_files', summary: `nothing to compact: no data file written since ${formatMillis(policy.writtenSinceMs ?? 0)}`, counts: {smallFiles: 0, partitions: 0}}
      : {step: 'rewrite_data_files', summary: `would compact ${num(files)} small files (${under}) in ${num(partitions)} partitions${where(s)}`, counts: smallCounts},
    {step: 'rewrite_manifests', summary: `would rewrite the ${num(manifests.rows[0]?.[0])} manifests`, counts: {manifests: num(manifests.rows[0]?.[0])}},
    {step: 'expire_snapshots', summary: `would expire ${num(expired.rows[0]?.[0])} of ${s.before.snapshots} snapshots (committed before ${formatMillis(policy.expireBeforeMs)}, beyond the newest ${policy.retainLast})`, counts: {snapshots: num(expired.rows[0]?.[0])}},
    {step: 'remove_orphan_files', summary: `would remove ${orphans.rows.length} orphan files older than ${formatMillis(policy.orphansBeforeMs)}`, counts: {orphanFiles: orphans.rows.length}},
  ]
}

function stepsDone(s: Survey, [rewrite, manifests, expired, orphans]: Array<SparkResult | undefined>, policy: Cuts): MaintenanceStep[] {
  const data = counts(rewrite)
  const lists = counts(manifests)
  const gone = counts(expired)
  return [
    rewrite
      ? {step: 'rewrite_data_files', summary: `rewrote ${data.rewritten_data_files_count} data files (${data.rewritten_bytes_count} bytes) into ${data.added_data_files_count}${where(s)}`, counts: data}
      : {step: 'rewrite_data_files', summary: `nothing to compact: no data file written since ${formatMillis(policy.writtenSinceMs ?? 0)}`, counts: {}},
    {step: 'rewrite_manifests', summary: `rewrote ${lists.rewritten_manifests_count} manifests into ${lists.added_manifests_count}`, counts: lists},
    {
      step: 'expire_snapshots',
      summary: `expired the snapshots committed before ${formatMillis(policy.expireBeforeMs)} beyond the newest ${policy.retainLast}: deleted ${gone.deleted_data_files_count} data files, ${gone.deleted_manifest_files_count} manifests, ${gone.deleted_manifest_lists_count} manifest lists`,
      counts: gone,
    },
    {step: 'remove_orphan_files', summary: `removed ${orphans?.rows.length ?? 0} orphan files older than ${formatMillis(policy.orphansBeforeMs)}`, counts: {orphanFiles: orphans?.rows.length ?? 0}},
  ]
}

/**
 * A table's procedures. Iceberg's commits are optimistic: one that meets a concurrent commit (an
 * ingest) retries; when the retries give up, the target was busy (exit 4), and the message names
 * the table and the conflict as Iceberg reported it.
 */
async function run(session: SparkSql, tables: SparkTables, table: MaintainedTable, statements: string[]): Promise<SparkResult[]> {
  try {
    return await session.sql(statements)
  } catch (error) {
    if (error instanceof SparkError && /CommitFailed|ValidationException|CommitStateUnknown/.test(`${error.kind} ${error.message}`)) {
      const target = `${tables.target.catalog}.${tables.target.namespace}`
      throw new WarehouseBusyError(`target ${target} is busy: maintenance of ${table.ident} gave up after Iceberg's commit retries, a concurrent commit conflicted (${error.message})`)
    }

    if (error instanceof SparkError) throw new SparkError({error: `maintenance of ${table.ident}: ${errorMessage(error).replace(/^Spark: /, '')}`, kind: error.kind}, error.logFile)
    throw error
  }
}
