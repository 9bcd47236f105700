import type {IngestOptions, IngestResult} from '../../ingest/ingest-types.js'
import type {RetentionTarget} from '../../retention-policy.js'
import type {Timeframe} from '../../timeframes.js'
import type {
  CandleQuery,
  CandleRow,
  TradeQuery,
  TradeRow,
  DeletionGuard,
  Engine,
  EngineOpenOptions,
  EngineSummary,
  FlowMark,
  IntegrityReport,
  MaintenancePolicy,
  MarketScope,
  RangesResult,
  ReplaceOptions,
  ReplaceResult,
  RetentionStats,
  SchemaChange,
  TableMaintenance,
  TimeframeRange,
  WindowSelection,
} from '../engine.js'
import type {ExportedTape, ExportOptions} from './ingest/export-validated.js'

import {knownMarkets, readCandles, readTrades} from './candle-query.js'
import {maintainWarehouse} from './maintain.js'
import {DuckdbCheckQueries} from './check-queries/duckdb-check-queries.js'
import {summarizeWarehouse} from './demo.js'
import {candlesUpdatedAt, measureRanges, tradeSpan} from './range-queries.js'
import {replaceRanges, replaceWindows} from './recompute.js'
import {usingAddedColumns} from '../added-columns.js'
import {checkpoint, countExpired, deleteExpired, fileBytes, retentionStats} from './retention-queries.js'
import {ensureSchema} from './schema.js'
import {UsageError} from '../../errors.js'
import {Warehouse} from './warehouse.js'
import {verifyWarehouse} from './warehouse-integrity.js'
import {allIngestedWithin, newestIngestion, readMark, writeMark} from './watermark.js'

/**
 * The engine seam on DuckDB: one warehouse file, held by this process from open to close. Each
 * operation is one transaction where it writes; the SQL lives in the modules beside this one.
 */
export class DuckdbEngine implements Engine {
  readonly kind = 'duckdb' as const
  private checkQueries?: DuckdbCheckQueries

  private constructor(
    readonly warehouse: Warehouse,
    /** When the open began: the integrity check's duration counts it. */
    private readonly openedAtMs: number,
  ) {}

  static async open(path: string, options: EngineOpenOptions): Promise<DuckdbEngine> {
    const started = Date.now()
    return new DuckdbEngine(await Warehouse.open(path, options), started)
  }

  /** An engine over a warehouse some caller already holds open (and closes). */
  static over(warehouse: Warehouse): DuckdbEngine {
    return new DuckdbEngine(warehouse, Date.now())
  }

  get checks(): DuckdbCheckQueries {
    this.checkQueries ??= new DuckdbCheckQueries(this.warehouse)
    return this.checkQueries
  }

  get target(): string {
    return this.warehouse.path
  }

  async close(): Promise<void> {
    this.warehouse.close()
  }

  ensureSchema(options: {dryRun?: boolean} = {}): Promise<SchemaChange[]> {
    return ensureSchema(this.warehouse, options)
  }

  replaceWindows(tf: Timeframe, selection: WindowSelection, options: ReplaceOptions): Promise<ReplaceResult> {
    return usingAddedColumns(this.target, () => replaceWindows(this.warehouse, tf, selection, options))
  }

  replaceRanges(ranges: TimeframeRange[], options: {nowMicros: number}): Promise<RangesResult> {
    return usingAddedColumns(this.target, () => replaceRanges(this.warehouse, ranges, options.nowMicros))
  }

  readMark(tf: Timeframe): Promise<FlowMark> {
    return readMark(this.warehouse, tf)
  }

  writeMark(tf: Timeframe, mark: FlowMark, nowMicros: number): Promise<void> {
    return this.writeMarks([{timeframe: tf, mark}], nowMicros)
  }

  writeMarks(marks: Array<{timeframe: Timeframe; mark: FlowMark}>, nowMicros: number): Promise<void> {
    return this.warehouse.transaction(async () => {
      for (const {timeframe, mark} of marks) await writeMark(this.warehouse, timeframe, mark, nowMicros)
    })
  }

  newestIngestion(): Promise<number> {
    return newestIngestion(this.warehouse)
  }

  allIngestedWithin(span: {after: number; through: number; fromMicros: number; toMicros: number}): Promise<boolean> {
    return allIngestedWithin(this.warehouse, span)
  }

  tradeSpan(fromMicros: number, toMicros: number, market?: MarketScope): Promise<{firstMicros: number; lastMicros: number} | undefined> {
    return tradeSpan(this.warehouse, fromMicros, toMicros, market)
  }

  readCandles(query: CandleQuery): Promise<CandleRow[]> {
    return usingAddedColumns(this.target, () => readCandles(this.warehouse, query))
  }

  readTrades(query: TradeQuery): Promise<TradeRow[]> {
    return usingAddedColumns(this.target, () => readTrades(this.warehouse, query))
  }

  knownMarkets(tf: Timeframe, limit?: number): Promise<Array<{symbol: string; exchange: string}>> {
    return knownMarkets(this.warehouse, tf, limit)
  }

  measureRanges(ranges: TimeframeRange[]): Promise<Array<{candles: number; trades: number}>> {
    return measureRanges(this.warehouse, ranges)
  }

  candlesUpdatedAt(ranges: TimeframeRange[], atMicros: number): Promise<Array<{timeframe: Timeframe; fromMicros: number; candles: number}>> {
    return candlesUpdatedAt(this.warehouse, ranges, atMicros)
  }

  retentionStats(tables: Array<{target: RetentionTarget; cutoff: string}>): Promise<RetentionStats[]> {
    return retentionStats(this.warehouse, tables)
  }

  deleteExpired(target: RetentionTarget, cutoff: string, guard: DeletionGuard): Promise<number> {
    return deleteExpired(this.warehouse, target, cutoff, guard)
  }

  countExpired(tables: Array<{target: RetentionTarget; cutoff: string}>): Promise<number[]> {
    return countExpired(this.warehouse, tables)
  }

  reclaimSpace(): Promise<void> {
    return checkpoint(this.warehouse)
  }

  /** CHECKPOINT only: the policy is Iceberg's (snapshots, orphan files); a DuckDB file has neither. */
  maintain(_policy: MaintenancePolicy, options: {dryRun: boolean}): Promise<TableMaintenance[]> {
    return maintainWarehouse(this.warehouse, options)
  }

  async storageBytes(): Promise<number> {
    return fileBytes(this.warehouse.path)
  }

  async ingestFile(file: string, options: IngestOptions): Promise<IngestResult> {
    const {ingestFile} = await import('./ingest/ingest-file.js')
    return ingestFile(this.warehouse, file, options)
  }

  /**
   * Not part of the seam: validates a tape exactly as ingestFile does and writes its accepted rows
   * (deduplicated within the file) to `parquetOut` with the contract's trade columns, storing
   * nothing. What an engine without a validating reader of its own ingests with.
   */
  async exportValidated(file: string, options: ExportOptions, parquetOut: string): Promise<ExportedTape> {
    const {exportValidated} = await import('./ingest/export-validated.js')
    return exportValidated(this.warehouse, file, options, parquetOut)
  }

  summarize(): Promise<EngineSummary> {
    return summarizeWarehouse(this.warehouse)
  }

  checkIntegrity(): Promise<IntegrityReport> {
    return verifyWarehouse(this.warehouse, this.openedAtMs)
  }
}

/**
 * The warehouse under a DuckDB engine, for the callers that still speak SQL to it (the checks);
 * any other engine is refused with a UsageError.
 */
export function warehouseOf(engine: Engine): Warehouse {
  if (engine instanceof DuckdbEngine) return engine.warehouse
  throw new UsageError(`this operation needs the DuckDB engine; ${engine.target} is on ${engine.kind}`, {code: 'engine_unsupported'})
}
