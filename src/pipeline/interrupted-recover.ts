import type {AuditLog} from './audit.js'
import type {Engine} from './engine/engine.js'

import {parseIsoInstant} from './time.js'
import {Timeframe} from './timeframes.js'

/** A planned range as the intent of a recover run recorded it. */
export interface RecordedRange {
  timeframe: Timeframe
  from: string
  to: string
}

/** An earlier recover run killed before it recorded its outcome, with what the warehouse shows it rebuilt. */
export interface InterruptedRecover {
  id: string
  at: string
  by: string
  found: RecoverFound
}

/** What the warehouse shows of a killed recover run. */
export interface RecoverFound {
  /** Candles in its planned ranges that it wrote (their updated_at is its instant). */
  candlesRebuilt: number
  /** Planned ranges with at least one such candle. */
  rangesTouched: number
  ranges: number
}

/**
 * What a recover run killed before its outcome did: a rebuilt candle whose values changed carries
 * the run's instant as updated_at (an unchanged one keeps its old one and needs no repair), so the
 * candles of its planned ranges updated at that instant are the ones it repaired.
 */
export async function findRebuilt(engine: Engine, ranges: RecordedRange[], at: string): Promise<RecoverFound> {
  const atMicros = parseIsoInstant(at, 'audit record')
  const planned = ranges.map((range) => ({timeframe: range.timeframe, fromMicros: parseIsoInstant(range.from, 'audit record'), toMicros: parseIsoInstant(range.to, 'audit record')}))
  const touched = planned.length === 0 ? [] : await engine.candlesUpdatedAt(planned, atMicros)
  return {candlesRebuilt: touched.reduce((sum, range) => sum + range.candles, 0), rangesTouched: touched.length, ranges: ranges.length}
}

/** Earlier recover runs on this warehouse killed before their outcome: what the warehouse shows they rebuilt. */
export async function findInterrupted(engine: Engine, audit: AuditLog, warehousePath: string): Promise<InterruptedRecover[]> {
  const runs: InterruptedRecover[] = []
  for (const record of audit.interrupted('recover', warehousePath)) {
    const ranges = ((record.details.plan as {ranges?: RecordedRange[]} | undefined)?.ranges ?? []) as RecordedRange[]
    runs.push({id: record.id, at: record.at, by: `${record.user}@${record.host}`, found: await findRebuilt(engine, ranges, record.at)})
  }

  return runs
}

/** The real run records what it found as the killed runs' outcome (`interrupted`). */
export function settleInterrupted(audit: AuditLog, warehousePath: string, runs: InterruptedRecover[]): void {
  const open = new Map(audit.interrupted('recover', warehousePath).map((record) => [record.id, record]))
  for (const run of runs) {
    const record = open.get(run.id)
    if (record) audit.finish(record, {outcome: 'interrupted', error: 'killed before it recorded its outcome', details: {found: run.found}})
  }
}
