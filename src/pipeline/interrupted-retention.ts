import type {AuditLog} from './audit.js'
import type {FoundDeletion, PlannedDeletion, RetentionPlan, TablePlan} from './retention.js'
import type {Engine} from './engine/engine.js'

import {findDeleted} from './retention.js'

/** An earlier retention run killed before it recorded its outcome, with what the warehouse shows it deleted. */
export interface InterruptedRetention {
  id: string
  at: string
  by: string
  tables: FoundDeletion[]
}

/**
 * Earlier runs on this warehouse that recorded their intent and were killed before their outcome:
 * what the warehouse shows they deleted. With `close` (the real run, holding the warehouse
 * read-write) that is recorded as their outcome (`interrupted`); without it, runs whose process is
 * still alive are left out.
 */
export async function settleInterruptedRetentions(engine: Engine, log: AuditLog, warehousePath: string, close: boolean): Promise<InterruptedRetention[]> {
  const found: InterruptedRetention[] = []
  // Without `close` the target may not be held (a dry run; a read-only Spark session takes no lock):
  // a run whose process is alive may be deleting right now, so it is not taken for killed.
  const alive = close ? new Set<string>() : new Set(log.list('retention').filter((record) => record.outcome === 'started').map((record) => record.id))
  for (const record of log.interrupted('retention', warehousePath)) {
    if (alive.has(record.id)) continue
    const tables = await findDeleted(engine, (record.details.tables ?? []) as PlannedDeletion[])
    found.push({id: record.id, at: record.at, by: `${record.user}@${record.host}`, tables})
    if (!close) continue
    log.finish(record, {
      outcome: 'interrupted',
      error: 'killed before it recorded its outcome',
      details: {found: tables, deleted: Object.fromEntries(tables.map((table) => [table.table, table.deleted]))},
    })
  }

  return found
}

/** Tables whose plan deletes their newest row, leaving them empty: almost always a wrong clock or policy. */
export function emptiedTables(plan: RetentionPlan): TablePlan[] {
  return plan.tables.filter((table) => table.rows > 0 && table.rowsKept === 0)
}
