// The engine seam: what the pipeline, the checks and the commands ask of the engine that holds the
// trades and candles. Whole operations, not single SQL calls: a Spark call costs seconds, so an
// operation is one unit of work (one transaction on DuckDB, one job and one commit per table on
// Spark). Values cross the seam as plain JavaScript: instants and counts as numbers (µs since the
// epoch are exact up to 2^53, far beyond 2199), decimals as exact text. No SQL crosses it.

import type {IngestOptions, IngestResult} from '../ingest/ingest-types.js'
import type {CheckQueries} from './check-queries.js'
import type {CandleQuery, CandleRow, TradeQuery, TradeRow} from './read-types.js'
import type {RetentionTarget} from '../retention-policy.js'
import type {MaintenancePolicy, TableMaintenance} from './maintenance-types.js'
import type {Timeframe} from '../timeframes.js'

export type EngineKind = 'duckdb' | 'spark'

export interface EngineOpenOptions {
  /** What this process is doing, shown to anyone who finds the target busy. */
  operation: string
  lockTimeoutMs: number
  /** Create the target and the schema when missing (init, ingest); otherwise a missing target is an error. */
  create?: boolean
  /** Read only: several readers may share the target, no lock is taken. */
  readOnly?: boolean
  memoryLimit?: string
  threads?: number
  /** For tests: how often to retry the lock. */
  retryEveryMs?: number
  /** ingest: on Spark, an ingest may run beside a flow (snapshot isolation) but not beside another ingest. */
  role?: 'ingest'
}

/** Which windows a replace recomputes. */
/** What --symbol/--exchange narrow a job to: one symbol, one exchange, or one market (both). */
export interface MarketScope {
  symbol?: string
  exchange?: string
}

export interface WindowSelection {
  /** Every window starting in [fromMicros, toMicros) (both aligned to the timeframe), of the market if one is given. */
  range?: {fromMicros: number; toMicros: number; market?: MarketScope}
  /**
   * Late windows: those starting before `beforeMicros` that hold a trade ingested after
   * `ingestedAfter` (and at most the newest ingestion seen by this operation). Windows starting
   * before `notBeforeMicros` (a retention cutoff) are left out and counted.
   */
  late?: {ingestedAfter: number; beforeMicros: number; notBeforeMicros?: number}
}

export interface ReplaceOptions {
  nowMicros: number
  /**
   * Also move the timeframe's flow mark, in the same unit of work: to the newest ingestion this
   * operation saw, and this closedThrough.
   */
  advanceMark?: {closedThrough: number}
}

export interface ReplaceResult {
  /** Candles written (one per selected window that has trades). */
  candles: number
  /** Stored candles removed because their window has no trades any more. */
  removed: number
  /** Trades aggregated into the written candles. */
  trades: number
  /** Late windows recomputed (written or removed), and the first and last of their starts. */
  lateWindows: number
  lateSpan?: {firstMicros: number; lastMicros: number}
  /** Late windows before notBeforeMicros, left out. */
  lateBeyondRetention: number
  /**
   * The newest ingestion_timestamp this operation saw (NOTHING_INGESTED when no trade), when it
   * selected late windows or moved the mark; otherwise NOTHING_INGESTED (it did not look).
   */
  newestIngestion: number
}

/**
 * How far a timeframe's candles are known to be complete: every trade with
 * ingestion_timestamp ≤ ingestedThrough in a window starting before closedThrough is in them.
 */
export interface FlowMark {
  ingestedThrough: number
  /** null: never run, nothing is known to be built. */
  closedThrough: number | null
}

/** No trade has been reflected yet: every stored trade is new to the flow. */
export const NOTHING_INGESTED = -1

/** Window starts of one timeframe in [fromMicros, toMicros), aligned to it. */
export interface TimeframeRange {
  timeframe: Timeframe
  fromMicros: number
  toMicros: number
  /** Only this market's windows (absent: every market's). */
  market?: MarketScope
}

/** What replacing a set of ranges did, summed over them. */
export interface RangesResult {
  candles: number
  removed: number
  /** Trades read: the most any one timeframe aggregated (every timeframe reads the same trades). */
  trades: number
}

/** Rows of a table dated on one UTC day (`YYYY-MM-DD`). */
export interface DayCount {
  date: string
  rows: number
}

/** A retention target's rows as seen against a cutoff date (every row dated before it expires). */
export interface RetentionStats {
  target: RetentionTarget
  /** Expired rows per date, oldest first. */
  expiredByDay: DayCount[]
  rowsKept: number
  /** Oldest and newest instant (µs) of the rows kept (null: none kept). */
  oldestKeptMicros: number | null
  newestKeptMicros: number | null
  /** An estimate of the bytes the expired rows take (null when none of the table is on disk yet). */
  bytesEstimate: number | null
  /**
   * Data files that hold rows on both sides of the cutoff: the delete rewrites them (Spark). 0 when
   * the delete only drops whole files or partitions (metadata only), and on DuckDB.
   */
  filesToRewrite: number
}

/** What reclaiming space did beyond the bytes, where the engine keeps old versions (Iceberg snapshots). */
export interface ReclaimedSpace {
  /** The tables whose older snapshots were expired: those retention changed. */
  tables: string[]
  snapshotsExpired: number
  /** Data and delete files removed from storage: no snapshot kept referenced them. */
  filesDeleted: number
}

/**
 * Checks inside a retention deletion's unit of work; throwing rolls it back whole. `found` sees the
 * expired rows per day before anything is deleted, `deleted` the number of rows deleted.
 */
export interface DeletionGuard {
  found(byDay: DayCount[]): void
  deleted(rows: number): void
}

export interface EngineSummary {
  trades: number
  markets: Array<{exchange: string; symbol: string; trades: number; from: string; to: string}>
  candles: Record<string, number>
}

export interface IntegrityReport {
  tables: Array<{table: string; rows: number}>
  /** Data and delete files checked present, where the engine keeps tables in files of their own (Iceberg). */
  files?: number
  durationMs: number
}

/** What ensuring the schema did (or, with dryRun, would do). */
export interface SchemaChange {
  table: string
  /** created | adopted (already there, nothing to change) | altered */
  action: 'created' | 'adopted' | 'altered'
  /** What was (or would be) changed, one line each, e.g. `volume DECIMAL(18,8) → DECIMAL(38,8)`. */
  changes: string[]
  /** The command that fills what was added, for the rows stored before (the kline fields of old candles). */
  fill?: string
}

/**
 * One open engine session. The methods here are the operations every engine provides; an
 * operation an engine does not provide yet throws a UsageError that says so (exit 2).
 */
export interface Engine {
  readonly kind: EngineKind
  /** What the engine works on, for messages and the run history: the warehouse file, or catalog.namespace. */
  readonly target: string
  /** The rows the checks judge (validate, freshness, gaps, reconcile, inspect trades, health daily). */
  readonly checks: CheckQueries

  close(): Promise<void>

  /** Creates the schema where missing, adopts tables that are there; with dryRun changes nothing. */
  ensureSchema(options?: {dryRun?: boolean}): Promise<SchemaChange[]>

  /**
   * Recompute-and-replace (DESIGN.md, "Candle semantics" 3 and 4): each selected window is
   * recomputed from all of its raw trades and replaces the stored candle, keyed on
   * (symbol, exchange, window_start); windows outside the selection are untouched. created_at is
   * kept, and updated_at too where the values did not change.
   */
  replaceWindows(tf: Timeframe, selection: WindowSelection, options: ReplaceOptions): Promise<ReplaceResult>

  readMark(tf: Timeframe): Promise<FlowMark>
  writeMark(tf: Timeframe, mark: FlowMark, nowMicros: number): Promise<void>
  newestIngestion(): Promise<number>

  /** The first and last trade instant in [from, to) (undefined: no trade there). */
  tradeSpan(fromMicros: number, toMicros: number, market?: MarketScope): Promise<{firstMicros: number; lastMicros: number} | undefined>

  /** The newest `limit` candles of the symbols in a range, oldest first (then by exchange and symbol); decimals as exact text. */
  readCandles(query: CandleQuery): Promise<CandleRow[]>
  /** The first `limit` trades of a symbol in [from, to), per exchange in candle order (timestamp, source_sequence, trade_id). */
  readTrades(query: TradeQuery): Promise<TradeRow[]>
  /** Which symbols and exchanges have candles, to suggest when a query finds none. */
  knownMarkets(tf: Timeframe, limit?: number): Promise<Array<{symbol: string; exchange: string}>>

  /**
   * Recompute-and-replace of several ranges (of different timeframes) as one unit of work: an
   * interrupted backfill keeps whole chunks.
   */
  replaceRanges(ranges: TimeframeRange[], options: {nowMicros: number}): Promise<RangesResult>
  /** Moves several flow marks as one unit of work. */
  writeMarks(marks: Array<{timeframe: Timeframe; mark: FlowMark}>, nowMicros: number): Promise<void>
  /** Were all trades ingested in (after, through] inside [fromMicros, toMicros)? */
  allIngestedWithin(span: {after: number; through: number; fromMicros: number; toMicros: number}): Promise<boolean>

  /** Per range (in the order given): the candles stored in it and the trades in it. */
  measureRanges(ranges: TimeframeRange[]): Promise<Array<{candles: number; trades: number}>>
  /** Per range with any: how many of its candles have updated_at equal to `atMicros` (ranges without one are left out). */
  candlesUpdatedAt(ranges: TimeframeRange[], atMicros: number): Promise<Array<{timeframe: Timeframe; fromMicros: number; candles: number}>>

  /** What a retention cutoff (a date, `YYYY-MM-DD`) expires of each target, and what it keeps. */
  retentionStats(tables: Array<{target: RetentionTarget; cutoff: string}>): Promise<RetentionStats[]>
  /** Deletes every row of a target dated before the cutoff, as one unit of work checked by `guard`; returns the rows deleted. */
  deleteExpired(target: RetentionTarget, cutoff: string, guard: DeletionGuard): Promise<number>
  /** Rows dated before each cutoff, now. */
  countExpired(tables: Array<{target: RetentionTarget; cutoff: string}>): Promise<number[]>
  /**
   * Lets the engine reuse (and give back) the space of the rows deleteExpired deleted in this
   * session; on an engine that keeps old versions, what it expired so that the space is really freed.
   */
  reclaimSpace(): Promise<ReclaimedSpace | void>
  /**
   * Table maintenance, per table: on DuckDB a checkpoint; on Spark Iceberg's compaction of the
   * partitions written since the last run, manifest rewrite, snapshot expiry and orphan-file
   * removal. Never changes a row. With dryRun, says what each step would do and changes nothing.
   */
  maintain(policy: MaintenancePolicy, options: {dryRun: boolean}): Promise<TableMaintenance[]>
  /** The bytes the target takes on disk (0 when it cannot tell). */
  storageBytes(): Promise<number>

  /** Stores one trade tape (all of it, or with skipBadRows the good rows; on a bad row none of it). */
  ingestFile(file: string, options: IngestOptions): Promise<IngestResult>
  /** What the engine holds: trades per market, candles per timeframe. */
  summarize(): Promise<EngineSummary>
  /** Reads every table back whole; throws (exit 1) when the target is damaged or lacks a table. */
  checkIntegrity(): Promise<IntegrityReport>
}

export type {MaintenancePolicy, MaintenanceStep, StorageFigures, TableMaintenance} from './maintenance-types.js'
export type {CandleQuery, CandleRow, TradeQuery, TradeRow} from './read-types.js'
