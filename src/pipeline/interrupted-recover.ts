import type {AuditLog} from './audit.js'
import type {Warehouse} from './engine/duckdb/warehouse.js'

import {loadDuckDB} from './engine/duckdb/duckdb-module.js'
import {parseIsoInstant} from './time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from './timeframes.js'

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
export async function findRebuilt(warehouse: Warehouse, ranges: RecordedRange[], at: string): Promise<RecoverFound> {
  const {listValue} = loadDuckDB()
  const atMicros = parseIsoInstant(at, 'audit record')
  let candlesRebuilt = 0
  let rangesTouched = 0
  for (const tf of TIMEFRAMES) {
    const own = ranges.filter((range) => range.timeframe === tf)
    if (own.length === 0) continue
    const rows = await warehouse.all<{lo: bigint; candles: bigint}>(
      `SELECT r.lo, count(c.window_start) AS candles
       FROM (SELECT unnest($lo::BIGINT[]) AS lo, unnest($hi::BIGINT[]) AS hi) r
       JOIN ${TIMEFRAME_SPECS[tf].table} c ON epoch_us(c.window_start) >= r.lo AND epoch_us(c.window_start) < r.hi AND c.updated_at = make_timestamp($at::BIGINT)
       GROUP BY r.lo`,
      {
        lo: listValue(own.map((range) => BigInt(parseIsoInstant(range.from, 'audit record')))),
        hi: listValue(own.map((range) => BigInt(parseIsoInstant(range.to, 'audit record')))),
        at: BigInt(atMicros),
      },
    )
    for (const row of rows) {
      candlesRebuilt += Number(row.candles)
      rangesTouched++
    }
  }

  return {candlesRebuilt, rangesTouched, ranges: ranges.length}
}

/** Earlier recover runs on this warehouse killed before their outcome: what the warehouse shows they rebuilt. */
export async function findInterrupted(warehouse: Warehouse, audit: AuditLog, warehousePath: string): Promise<InterruptedRecover[]> {
  const runs: InterruptedRecover[] = []
  for (const record of audit.interrupted('recover', warehousePath)) {
    const ranges = ((record.details.plan as {ranges?: RecordedRange[]} | undefined)?.ranges ?? []) as RecordedRange[]
    runs.push({id: record.id, at: record.at, by: `${record.user}@${record.host}`, found: await findRebuilt(warehouse, ranges, record.at)})
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
