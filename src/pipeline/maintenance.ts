import type {Engine, MaintenancePolicy, TableMaintenance} from './engine/engine.js'
import type {FileConfig} from './config-schema.js'

import {AuditLog} from './audit.js'
import {errorMessage} from './errors.js'
import {MICROS_PER_DAY, formatMicros, formatMillis, parseDuration} from './time.js'

/** What `maintenance` in the config file keeps; Iceberg's own defaults where it says nothing. */
export interface MaintenanceSettings {
  snapshotAgeMicros: number
  keepSnapshots: number
  orphanAgeMicros: number
}

export const DEFAULT_MAINTENANCE = {snapshotAge: '5d', keepSnapshots: 1, orphanAge: '3d'} as const

/** The settings as the config file gives them (already checked against the schema when the home was read). */
export function maintenanceSettings(config: FileConfig['maintenance'], where: string): MaintenanceSettings {
  return {
    snapshotAgeMicros: parseDuration(config?.snapshotAge ?? DEFAULT_MAINTENANCE.snapshotAge, `${where}.snapshotAge`),
    keepSnapshots: config?.keepSnapshots ?? DEFAULT_MAINTENANCE.keepSnapshots,
    orphanAgeMicros: parseDuration(config?.orphanAge ?? DEFAULT_MAINTENANCE.orphanAge, `${where}.orphanAge`),
  }
}

/** The maintenance policy as the `--json` document shows it. */
export interface PolicyView {
  snapshotAge: string
  keepSnapshots: number
  orphanAge: string
  /** Snapshots committed before this (at the latest: the cut is taken when each table's expiry runs) may be expired, beyond the newest keepSnapshots. */
  expireBefore: string
  orphansBefore: string
  /** The partitions written since this instant (the last maintenance run) are compacted; null: every partition. */
  writtenSince: string | null
}

export interface MaintainDocument {
  engine: string
  target: string
  dryRun: boolean
  policy: PolicyView
  tables: TableMaintenance[]
  /** The audit record of a real run (null for a dry run). */
  auditId: string | null
}

const AUDIT_COMMAND = 'maintain'

/**
 * One maintenance run on an open engine (which holds the target's lock). The cut-offs use the
 * machine's clock, since snapshot and file times are the storage's real times; the audit record
 * and `at` use the command's clock (K2OPS_NOW). A real run records its intent and its outcome, and
 * the next run compacts what was written since this one began.
 */
export async function runMaintenance(
  engine: Engine,
  settings: MaintenanceSettings,
  options: {dryRun: boolean; auditFile: string; nowMicros: number; wallClockMs?: number},
): Promise<MaintainDocument> {
  const startedMs = options.wallClockMs ?? Date.now()
  const log = new AuditLog(options.auditFile)
  const writtenSinceMs = lastRunStart(log, engine.target)
  const policy: MaintenancePolicy = {
    snapshotAgeMs: settings.snapshotAgeMicros / 1000,
    retainLast: settings.keepSnapshots,
    orphansBeforeMs: startedMs - Math.max(settings.orphanAgeMicros, 3 * MICROS_PER_DAY) / 1000,
    ...(writtenSinceMs !== undefined && {writtenSinceMs}),
  }
  const document = (tables: TableMaintenance[], auditId: string | null): MaintainDocument => ({engine: engine.kind, target: engine.target, dryRun: options.dryRun, policy: view(settings, policy, startedMs), tables, auditId})
  if (options.dryRun) return document(await engine.maintain(policy, {dryRun: true}), null)

  const at = formatMicros(options.nowMicros)
  const started = log.begin({command: AUDIT_COMMAND, at, details: {warehouse: engine.target, engine: engine.kind, startedAtMs: startedMs, policy: view(settings, policy, startedMs)}})
  try {
    const tables = await engine.maintain(policy, {dryRun: false})
    log.finish(started, {outcome: 'completed', details: {tables: tables.map((table) => ({table: table.table, before: table.before, after: table.after, steps: Object.fromEntries(table.steps.map((step) => [step.step, step.counts]))}))}})
    return document(tables, started.id)
  } catch (error) {
    log.finish(started, {outcome: 'failed', error: errorMessage(error)})
    throw error
  }
}

/** When the last completed run on this target began (ms): what it compacted is not looked at again. */
function lastRunStart(log: AuditLog, target: string): number | undefined {
  const last = log.list(AUDIT_COMMAND).find((record) => record.outcome === 'completed' && record.details.warehouse === target)
  const started = last?.details.startedAtMs
  return typeof started === 'number' ? started : undefined
}

function view(settings: MaintenanceSettings, policy: MaintenancePolicy, startedMs: number): PolicyView {
  return {
    snapshotAge: formatDays(settings.snapshotAgeMicros),
    keepSnapshots: settings.keepSnapshots,
    orphanAge: formatDays(settings.orphanAgeMicros),
    expireBefore: formatMillis(startedMs - policy.snapshotAgeMs),
    orphansBefore: formatMillis(policy.orphansBeforeMs),
    writtenSince: policy.writtenSinceMs === undefined ? null : formatMillis(policy.writtenSinceMs),
  }
}

/** µs → `5d`, `12h`, `90s`: the form the config file takes. */
function formatDays(micros: number): string {
  const seconds = Math.round(micros / 1e6)
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) if (seconds > 0 && seconds % size === 0) return `${seconds / size}${unit}`
  return `${seconds}s`
}
