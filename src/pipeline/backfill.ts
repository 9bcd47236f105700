import type {KeptFrom, RetentionClamp} from './retention-policy.js'
import type {Engine, FlowMark, MarketScope} from './engine/engine.js'

import {END_OF_TIME} from './flow-run.js'
import {clampBackfillPlan} from './retention-policy.js'
import {MICROS_PER_DAY} from './time.js'
import {Timeframe, ceilToWindow, floorToWindow} from './timeframes.js'

export interface BackfillRange {
  timeframe: Timeframe
  /** Window starts in [fromMicros, toMicros), aligned to the timeframe. */
  fromMicros: number
  toMicros: number
  /** --symbol/--exchange: only this market's candles. */
  market?: MarketScope
}

export interface BackfillChunk {
  /** A UTC day [fromMicros, toMicros), cut to the ranges it holds. */
  fromMicros: number
  toMicros: number
  ranges: BackfillRange[]
}

export interface BackfillPlan {
  ranges: BackfillRange[]
  chunks: BackfillChunk[]
}

/**
 * Aligns [from, to) outwards to each timeframe's windows, leaves out windows not closed at `now`
 * (unless `includeOpen`), and cuts the work into UTC days. Every timeframe divides a day, so no
 * window straddles two chunks.
 */
export function planBackfill(timeframes: Timeframe[], fromMicros: number, toMicros: number, nowMicros: number, includeOpen = false): BackfillPlan {
  const ranges: BackfillRange[] = []
  for (const tf of timeframes) {
    const cutoff = includeOpen ? END_OF_TIME : floorToWindow(nowMicros, tf)
    const from = floorToWindow(fromMicros, tf)
    const to = Math.min(ceilToWindow(toMicros, tf), cutoff)
    if (to > from) ranges.push({timeframe: tf, fromMicros: from, toMicros: to})
  }

  const chunks: BackfillChunk[] = []
  if (ranges.length === 0) return {ranges, chunks}
  const first = Math.floor(Math.min(...ranges.map((r) => r.fromMicros)) / MICROS_PER_DAY) * MICROS_PER_DAY
  const last = Math.max(...ranges.map((r) => r.toMicros))
  for (let day = first; day < last; day += MICROS_PER_DAY) {
    const inDay = ranges
      .map((r) => ({timeframe: r.timeframe, fromMicros: Math.max(r.fromMicros, day), toMicros: Math.min(r.toMicros, day + MICROS_PER_DAY)}))
      .filter((r) => r.toMicros > r.fromMicros)
    if (inDay.length > 0) {
      chunks.push({fromMicros: Math.min(...inDay.map((r) => r.fromMicros)), toMicros: Math.max(...inDay.map((r) => r.toMicros)), ranges: inDay})
    }
  }

  return {ranges, chunks}
}

export interface TradeSpan {
  /** The first and the last trade's timestamp in the range asked for. */
  firstMicros: number
  lastMicros: number
}

/**
 * [from, to) cut to the trades in it: days without trades have nothing to rebuild, so a range
 * typed too wide (--from 1900-01-01) plans only the days that hold data and holds the warehouse
 * only for them. undefined: no trade in the range, nothing to do.
 */
export function clampToTrades(fromMicros: number, toMicros: number, span: TradeSpan | undefined): {fromMicros: number; toMicros: number} | undefined {
  if (span === undefined) return undefined
  return {fromMicros: Math.max(fromMicros, span.firstMicros), toMicros: Math.min(toMicros, span.lastMicros + 1)}
}

export interface ChunkResult {
  candles: number
  removed: number
  trades: number
}

/** One chunk, all its timeframes, in one unit of work: an interrupted backfill keeps whole days. */
export async function backfillChunk(engine: Engine, chunk: BackfillChunk, nowMicros: number): Promise<ChunkResult> {
  return engine.replaceRanges(chunk.ranges, {nowMicros})
}

/**
 * After every chunk is done: where the backfill covered every trade ingested since a flow's last
 * run, that flow need not recompute them again (a first backfill of all history makes the next
 * flow run as cheap as a routine one). The marks move together, in one unit of work.
 */
export async function settleBackfillWatermarks(engine: Engine, plan: BackfillPlan, nowMicros: number): Promise<void> {
  // A backfill of one market leaves the others' windows as they were: the marks are every market's.
  if (plan.ranges.some((range) => range.market)) return
  const newest = await engine.newestIngestion()
  const marks: Array<{timeframe: Timeframe; mark: FlowMark}> = []
  for (const range of plan.ranges) {
    const mark = await engine.readMark(range.timeframe)
    if (newest <= mark.ingestedThrough) continue
    if (!(await engine.allIngestedWithin({after: mark.ingestedThrough, through: newest, fromMicros: range.fromMicros, toMicros: range.toMicros}))) continue
    marks.push({timeframe: range.timeframe, mark: {ingestedThrough: newest, closedThrough: mark.closedThrough ?? range.toMicros}})
  }

  if (marks.length > 0) await engine.writeMarks(marks, nowMicros)
}

export interface BackfillScope {
  /** The trades in the range asked for. */
  span: TradeSpan
  /** The range cut to those trades. */
  traded: {fromMicros: number; toMicros: number}
  plan: BackfillPlan
  /** Timeframes whose range was cut at their retention cutoff. */
  retentionClamp: RetentionClamp[]
}

/**
 * What a backfill of [from, to) rebuilds: the days of the trades in it, cut at each timeframe's
 * retention cutoff (`keptFrom`; undefined with --force). undefined: no trade in the range.
 */
export async function scopeBackfill(
  engine: Engine,
  request: {timeframes: Timeframe[]; fromMicros: number; toMicros: number; nowMicros: number; includeOpen: boolean; keptFrom?: KeptFrom; market?: MarketScope},
): Promise<BackfillScope | undefined> {
  const span = await engine.tradeSpan(request.fromMicros, request.toMicros, request.market)
  const traded = clampToTrades(request.fromMicros, request.toMicros, span)
  if (span === undefined || traded === undefined) return undefined
  const planned = planBackfill(request.timeframes, traded.fromMicros, traded.toMicros, request.nowMicros, request.includeOpen)
  const {plan, clamped} = request.keptFrom ? clampBackfillPlan(planned, request.keptFrom) : {plan: planned, clamped: []}
  return {span, traded, plan: request.market ? scopedPlan(plan, request.market) : plan, retentionClamp: clamped}
}

/** Every range of the plan narrowed to one market (a symbol, an exchange, or both). */
function scopedPlan(plan: BackfillPlan, market: MarketScope): BackfillPlan {
  const scoped = (range: BackfillRange): BackfillRange => ({...range, market})
  return {ranges: plan.ranges.map(scoped), chunks: plan.chunks.map((chunk) => ({...chunk, ranges: chunk.ranges.map(scoped)}))}
}
