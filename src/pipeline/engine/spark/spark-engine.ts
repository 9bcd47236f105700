import type * as seam from '../engine.js'
import type {IngestOptions, IngestResult} from '../../ingest/ingest-types.js'
import type {CheckQueries} from '../check-queries.js'
import type {RetentionTarget} from '../../retention-policy.js'
import type {Timeframe} from '../../timeframes.js'
import type {TapeValidator} from './ingest.js'

import {NOTHING_INGESTED} from '../engine.js'
import {ensureSparkSchema} from './adopt.js'
import {ingestTape} from './ingest.js'
import {verifySparkTarget} from './integrity.js'
import {maintainSparkTables} from './maintain.js'
import {candlesUpdatedAt, measureRanges, readCandles, readTrades, summarize} from './range-reads.js'
import {dropViewsSql, mergeSql, prepareReplaceSql} from './replace-sql.js'
import {SparkTableRule, countExpired, deleteExpired, retentionStats, sparkTableRule} from './retention.js'
import {expireSnapshots} from './retention-snapshots.js'
import {marketSql, sqlBigint, sqlInstant, sqlString} from './sql-text.js'
import {SparkTables} from './tables.js'
import {usingAddedColumns} from '../added-columns.js'
import {SparkCheckQueries} from './check-queries/spark-check-queries.js'

/** One result set of the driver: column names and rows, values JSON-safe (decimals as text). */
export interface SparkResult {
  columns: string[]
  rows: unknown[][]
}

/** What the engine needs of a Spark session: statements in, the result of each out. */
export interface SparkSql {
  sql(statements: string[]): Promise<SparkResult[]>
}

const num = (value: unknown): number => Number(value)
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))

/**
 * The Spark engine: the contract's tables in an Iceberg catalog, computed with Spark SQL. Every
 * operation is one or two driver requests, and each table it changes gets one commit.
 */
export class SparkEngine implements seam.Engine {
  readonly kind = 'spark' as const
  readonly tables: SparkTables
  private checkQueries?: SparkCheckQueries
  /** The tables deleteExpired changed in this session: reclaimSpace expires their old snapshots. */
  private readonly retentionChanged = new Map<string, SparkTableRule>()

  constructor(
    readonly session: SparkSql,
    target: {catalog: string; namespace: string},
    private readonly services: {validate?: TapeValidator; release?: () => Promise<void>} = {},
  ) {
    this.tables = new SparkTables(target)
  }

  /** The checks' queries in Spark SQL; the questions asked together go to the driver as one request. */
  get checks(): CheckQueries {
    return this.sparkChecks()
  }

  get target(): string {
    return `${this.tables.target.catalog}.${this.tables.target.namespace}`
  }

  async close(): Promise<void> {
    await this.services.release?.()
  }

  /** Does the target hold the trades table (has init or an ingest made the schema)? */
  async hasTables(): Promise<boolean> {
    try {
      const [result] = await this.session.sql([`SHOW TABLES IN ${this.tables.namespace} LIKE 'gold_crypto_trades'`])
      return result.rows.length > 0
    } catch (error) {
      if (/NoSuchNamespace|Namespace does not exist|SCHEMA_NOT_FOUND/i.test((error as Error).message)) return false
      throw error
    }
  }

  async ensureSchema(options: {dryRun?: boolean} = {}): Promise<seam.SchemaChange[]> {
    return ensureSparkSchema(this.session, this.tables, options)
  }

  async readMark(tf: Timeframe): Promise<seam.FlowMark> {
    const [result] = await this.session.sql([
      `SELECT ingested_through, closed_through FROM ${this.tables.marks}
       WHERE namespace = ${sqlString(this.tables.target.namespace)} AND timeframe = ${sqlString(tf)}`,
    ])
    const row = result.rows[0]
    if (!row) return {ingestedThrough: NOTHING_INGESTED, closedThrough: null}
    return {ingestedThrough: num(row[0]), closedThrough: numOrNull(row[1])}
  }

  async writeMark(tf: Timeframe, mark: seam.FlowMark, nowMicros: number): Promise<void> {
    await this.session.sql([this.markSql(tf, mark, nowMicros)])
  }

  async writeMarks(marks: Array<{timeframe: Timeframe; mark: seam.FlowMark}>, nowMicros: number): Promise<void> {
    if (marks.length > 0) await this.session.sql(marks.map(({timeframe, mark}) => this.markSql(timeframe, mark, nowMicros)))
  }

  async newestIngestion(): Promise<number> {
    return (await this.tradesSnapshot()).newest
  }

  async tradeSpan(fromMicros: number, toMicros: number, market?: seam.MarketScope): Promise<{firstMicros: number; lastMicros: number} | undefined> {
    const [result] = await this.session.sql([
      `SELECT min(\`timestamp\`), max(\`timestamp\`) FROM ${this.tables.trades} t
       WHERE \`timestamp\` >= ${sqlBigint(fromMicros)} AND \`timestamp\` < ${sqlBigint(toMicros)}${marketSql('t', market)}`,
    ])
    const [first, last] = result.rows[0] ?? [null, null]
    return first === null || last === null ? undefined : {firstMicros: num(first), lastMicros: num(last)}
  }

  replaceWindows(tf: Timeframe, selection: seam.WindowSelection, options: seam.ReplaceOptions): Promise<seam.ReplaceResult> {
    return usingAddedColumns(this.target, () => this.replace(tf, selection, options))
  }

  private async replace(tf: Timeframe, selection: seam.WindowSelection, options: seam.ReplaceOptions): Promise<seam.ReplaceResult> {
    // Late windows and the mark need one snapshot of the trades for every read; a range alone is read once.
    const snapshot = selection.late || options.advanceMark ? await this.tradesSnapshot(selection.late?.ingestedAfter) : {newest: NOTHING_INGESTED}
    const result: seam.ReplaceResult = {candles: 0, removed: 0, trades: 0, lateWindows: 0, lateBeyondRetention: 0, newestIngestion: snapshot.newest}
    const hasRange = selection.range && selection.range.fromMicros < selection.range.toMicros
    // No trade ingested since the mark lies before the range: there is no late window, and the late
    // part (a scan of every trade and every stored candle) is left out. The usual case of a flow run.
    const late = selection.late && snapshot.firstNewTrade !== undefined && snapshot.firstNewTrade < selection.late.beforeMicros ? selection.late : undefined
    const input = {tf, selection: {range: hasRange ? selection.range : undefined, late}, newestIngestion: snapshot.newest, snapshotId: snapshot.id}
    const tail: string[] = []
    if (input.selection.range || (late && snapshot.id)) {
      const prepared = prepareReplaceSql(this.tables, input)
      const results = await this.session.sql(prepared.statements)
      const beyond = prepared.late ? results.at(-1)! : undefined
      const span = addCounts(result, results.at(beyond ? -2 : -1)!.rows)
      if (beyond) result.lateBeyondRetention = num(beyond.rows[0]?.[0] ?? 0)
      if (span) tail.push(mergeSql(this.tables, tf, options.nowMicros, span))
      tail.push(...dropViewsSql())
    }

    // The mark moves after the candles' commit: a run killed between the two recomputes them again.
    if (options.advanceMark) tail.push(this.markSql(tf, {ingestedThrough: snapshot.newest, closedThrough: options.advanceMark.closedThrough}, options.nowMicros))
    if (tail.length > 0) await this.session.sql(tail)
    return result
  }

  /** One MERGE (one commit) per range: Iceberg has no transaction across tables, and each commit is atomic. */
  async replaceRanges(ranges: seam.TimeframeRange[], options: {nowMicros: number}): Promise<seam.RangesResult> {
    const total = {candles: 0, removed: 0, trades: 0}
    for (const range of ranges) {
      const done = await this.replaceWindows(range.timeframe, {range}, options)
      total.candles += done.candles
      total.removed += done.removed
      total.trades = Math.max(total.trades, done.trades)
    }

    return total
  }

  async allIngestedWithin(span: {after: number; through: number; fromMicros: number; toMicros: number}): Promise<boolean> {
    const [result] = await this.session.sql([
      `SELECT count(*) FROM ${this.tables.trades}
       WHERE ingestion_timestamp > ${sqlBigint(span.after)} AND ingestion_timestamp <= ${sqlBigint(span.through)}
         AND NOT (\`timestamp\` >= ${sqlBigint(span.fromMicros)} AND \`timestamp\` < ${sqlBigint(span.toMicros)})`,
    ])
    return num(result.rows[0][0]) === 0
  }

  readCandles(query: seam.CandleQuery): Promise<seam.CandleRow[]> {
    return usingAddedColumns(this.target, () => readCandles(this.session, this.tables, query))
  }

  readTrades(query: seam.TradeQuery): Promise<seam.TradeRow[]> {
    return readTrades(this.session, this.tables, query)
  }

  async knownMarkets(tf: Timeframe, limit = 20): Promise<Array<{symbol: string; exchange: string}>> {
    const [result] = await this.session.sql([`SELECT DISTINCT symbol, exchange FROM ${this.tables.candles(tf)} ORDER BY 1, 2 LIMIT ${Math.floor(limit)}`])
    return result.rows.map(([symbol, exchange]) => ({symbol: String(symbol), exchange: String(exchange)}))
  }

  measureRanges(ranges: seam.TimeframeRange[]): Promise<Array<{candles: number; trades: number}>> {
    return measureRanges(this.session, this.tables, ranges)
  }

  candlesUpdatedAt(ranges: seam.TimeframeRange[], atMicros: number): Promise<Array<{timeframe: Timeframe; fromMicros: number; candles: number}>> {
    return candlesUpdatedAt(this.session, this.tables, ranges, atMicros)
  }

  ingestFile(file: string, options: IngestOptions): Promise<IngestResult> {
    if (!this.services.validate) throw new Error('internal: a Spark engine without a tape validator cannot ingest')
    return ingestTape(this.session, this.tables, () => this.newestIngestion(), this.services.validate, file, options)
  }

  summarize(): Promise<seam.EngineSummary> {
    return summarize(this.session, this.tables)
  }

  maintain(policy: seam.MaintenancePolicy, options: {dryRun: boolean}): Promise<seam.TableMaintenance[]> {
    return maintainSparkTables(this.session, this.tables, policy, options)
  }

  /** Through the checks' batch: asked in the same turn as checks, it joins their request. */
  storageBytes(): Promise<number> {
    return this.sparkChecks().storageBytes()
  }

  private sparkChecks(): SparkCheckQueries {
    this.checkQueries ??= new SparkCheckQueries(this.session, this.tables)
    return this.checkQueries
  }

  retentionStats(tables: Array<{target: RetentionTarget; cutoff: string}>): Promise<seam.RetentionStats[]> {
    return retentionStats(this.session, this.tables, tables)
  }

  async deleteExpired(target: RetentionTarget, cutoff: string, guard: seam.DeletionGuard): Promise<number> {
    const deleted = await deleteExpired(this.session, this.tables, target, cutoff, guard)
    const rule = sparkTableRule(this.tables, target)
    if (deleted > 0) this.retentionChanged.set(rule.table, rule)
    return deleted
  }

  countExpired(tables: Array<{target: RetentionTarget; cutoff: string}>): Promise<number[]> {
    return countExpired(this.session, this.tables, tables)
  }

  /** Expires the older snapshots of the tables retention changed: until then they still hold the deleted files. */
  async reclaimSpace(): Promise<seam.ReclaimedSpace> {
    const reclaimed = await expireSnapshots(this.session, this.tables, [...this.retentionChanged.values()], Date.now())
    this.retentionChanged.clear()
    return reclaimed
  }

  /** Every table loaded and read whole, every data and delete file of its current snapshot present (integrity.ts). */
  checkIntegrity(): Promise<seam.IntegrityReport> {
    return verifySparkTarget(this.session, this.tables)
  }

  /**
   * The trades table's current snapshot and its newest ingestion: every read of one operation uses
   * it. With `ingestedAfter`, also the earliest trade time among the trades ingested after it
   * (undefined: none), in the same request: its filter skips every data file ingested before (file
   * statistics), and max() is answered from them too, so both stay cheap however many trades there are.
   */
  async tradesSnapshot(ingestedAfter?: number): Promise<{id?: string; newest: number; firstNewTrade?: number}> {
    const [history] = await this.session.sql([
      `SELECT CAST(snapshot_id AS STRING) FROM ${this.tables.trades}.history WHERE is_current_ancestor ORDER BY made_current_at DESC LIMIT 1`,
    ])
    const id = history.rows[0]?.[0]
    if (id === undefined || id === null) return {newest: NOTHING_INGESTED}
    const trades = `${this.tables.trades} VERSION AS OF ${id}`
    const reads = [`SELECT max(ingestion_timestamp) FROM ${trades}`]
    if (ingestedAfter !== undefined) reads.push(`SELECT min(\`timestamp\`) FROM ${trades} WHERE ingestion_timestamp > ${sqlBigint(ingestedAfter)}`)
    const [newest, firstNew] = await this.session.sql(reads)
    return {id: String(id), newest: numOrNull(newest.rows[0]?.[0]) ?? NOTHING_INGESTED, firstNewTrade: numOrNull(firstNew?.rows[0]?.[0]) ?? undefined}
  }

  private markSql(tf: Timeframe, mark: seam.FlowMark, nowMicros: number): string {
    const closed = mark.closedThrough === null ? 'CAST(NULL AS BIGINT)' : sqlBigint(mark.closedThrough)
    return `MERGE INTO ${this.tables.marks} m
      USING (SELECT ${sqlString(this.tables.target.namespace)} AS namespace, ${sqlString(tf)} AS timeframe,
                    ${sqlBigint(mark.ingestedThrough)} AS ingested_through, ${closed} AS closed_through, ${sqlInstant(nowMicros)} AS updated_at) s
      ON m.namespace = s.namespace AND m.timeframe = s.timeframe
      WHEN MATCHED THEN UPDATE SET ingested_through = s.ingested_through, closed_through = s.closed_through, updated_at = s.updated_at
      WHEN NOT MATCHED THEN INSERT (namespace, timeframe, ingested_through, closed_through, updated_at)
        VALUES (s.namespace, s.timeframe, s.ingested_through, s.closed_through, s.updated_at)`
  }
}

/** Adds a replace's counts per part (range, late) to `result`; returns the span of the source's window starts. */
function addCounts(result: seam.ReplaceResult, rows: unknown[][]): {firstMicros: number; lastMicros: number} | undefined {
  let span: {firstMicros: number; lastMicros: number} | undefined
  for (const [part, candles, trades, removed, first, last] of rows) {
    if (first === null) continue
    span = {firstMicros: Math.min(span?.firstMicros ?? Infinity, num(first)), lastMicros: Math.max(span?.lastMicros ?? -Infinity, num(last))}
    result.candles += num(candles)
    result.trades += num(trades)
    result.removed += num(removed)
    if (part === 'late') {
      result.lateWindows = num(candles) + num(removed)
      result.lateSpan = {firstMicros: num(first), lastMicros: num(last)}
    }
  }

  return span
}
