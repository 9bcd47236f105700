// What `k2ops maintain` asks of an engine and what it reports (engine.ts Engine.maintain).

/**
 * What maintenance keeps (times in ms of the machine's clock: snapshot commit times and file ages
 * are the storage's real times, whatever K2OPS_NOW says).
 */
export interface MaintenancePolicy {
  /**
   * Snapshots older than this (ms) when the expiry runs may be expired (taken then, so that with 0
   * the snapshots of this run's own compaction count too)…
   */
  snapshotAgeMs: number
  /** …but the newest `retainLast` of each table are kept. */
  retainLast: number
  /** Files no snapshot references, older than this instant, are removed (never less than 3 days back). */
  orphansBeforeMs: number
  /** Compact the partitions written since this instant (the last maintenance run); undefined: every partition. */
  writtenSinceMs?: number
}

/** A table's storage as maintenance sees it (null: the engine has no such thing). */
export interface StorageFigures {
  snapshots: number | null
  /** The current snapshot's data files and their bytes. */
  dataFiles: number
  dataBytes: number
  /** Every data file any kept snapshot references (what is on disk), and their bytes. */
  storedFiles: number
  storedBytes: number
}

/** One maintenance step on one table: what it did (or, in a dry run, would do). */
export interface MaintenanceStep {
  /** checkpoint | rewrite_data_files | rewrite_manifests | expire_snapshots | remove_orphan_files */
  step: string
  /** For people: one line. */
  summary: string
  /** The figures behind it, as the engine reports them (files rewritten, snapshots expired, …). */
  counts: Record<string, number>
}

export interface TableMaintenance {
  table: string
  before: StorageFigures
  /** null in a dry run. */
  after: StorageFigures | null
  steps: MaintenanceStep[]
}
