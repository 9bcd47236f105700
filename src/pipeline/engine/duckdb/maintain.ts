import type {StorageFigures, TableMaintenance} from '../engine.js'
import type {Warehouse} from './warehouse.js'

import {checkpoint, fileBytes} from './retention-queries.js'

/** One file is the whole warehouse: no snapshots to expire, no files to compact. */
function figures(path: string): StorageFigures {
  const bytes = fileBytes(path)
  return {snapshots: null, dataFiles: 1, dataBytes: bytes, storedFiles: 1, storedBytes: bytes}
}

/**
 * Maintenance on DuckDB is a CHECKPOINT and nothing more: it writes the write-ahead log into the
 * file and lets DuckDB reuse the blocks of deleted rows. Reported as the warehouse file's one step.
 */
export async function maintainWarehouse(warehouse: Warehouse, options: {dryRun: boolean}): Promise<TableMaintenance[]> {
  const before = figures(warehouse.path)
  if (options.dryRun) {
    return [{table: warehouse.path, before, after: null, steps: [{step: 'checkpoint', summary: 'would run CHECKPOINT (the only maintenance DuckDB needs)', counts: {}}]}]
  }

  await checkpoint(warehouse)
  const after = figures(warehouse.path)
  const summary = `ran CHECKPOINT: ${before.storedBytes} → ${after.storedBytes} bytes`
  return [{table: warehouse.path, before, after, steps: [{step: 'checkpoint', summary, counts: {bytesBefore: before.storedBytes, bytesAfter: after.storedBytes}}]}]
}
