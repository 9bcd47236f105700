import type {Engine, MarketScope} from './engine/engine.js'

import {planBackfill} from './backfill.js'
import {MICROS_PER_DAY} from './time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe, floorToWindow} from './timeframes.js'

// Recovering from corrupted candles: which windows to rebuild, and rebuilding them.

/** Windows of one timeframe to rebuild from the trades: window starts in [fromMicros, toMicros), aligned. */
export interface RecoverRange {
  timeframe: Timeframe
  fromMicros: number
  toMicros: number
  /** Why these windows: the checks that named them (`ohlc_bounds 1h`), or `requested`. */
  reasons: string[]
  /** Only this market's candles (absent: every market's). */
  market?: MarketScope
}

/** A range with what rebuilding it touches. */
export interface MeasuredRange extends RecoverRange {
  windows: number
  /** Candles stored in the range now: every one is deleted and rebuilt from the trades. */
  candles: number
  /** Trades in the range: what the rebuild reads. */
  trades: number
}

/** Window starts (µs) per timeframe, each with the reasons that named it. */
export type WindowsToRepair = Map<Timeframe, Map<number, Set<string>>>

/**
 * Coalesces windows into ranges per timeframe (adjacent windows make one range), in timeframe then
 * time order. Windows that have not closed at `now` are left out: the flows build those, and a
 * rebuild would add candles of windows still open.
 */
export function rangesFromWindows(windows: WindowsToRepair, nowMicros: number): RecoverRange[] {
  const ranges: RecoverRange[] = []
  for (const tf of TIMEFRAMES) {
    const size = TIMEFRAME_SPECS[tf].micros
    const closedBefore = floorToWindow(nowMicros, tf)
    const starts = [...(windows.get(tf)?.entries() ?? [])].filter(([start]) => start < closedBefore).sort(([a], [b]) => a - b)
    let current: RecoverRange | undefined
    for (const [start, reasons] of starts) {
      if (current && start === current.toMicros) {
        current.toMicros = start + size
        for (const reason of reasons) if (!current.reasons.includes(reason)) current.reasons.push(reason)
        continue
      }

      current = {timeframe: tf, fromMicros: start, toMicros: start + size, reasons: [...reasons]}
      ranges.push(current)
    }
  }

  return ranges
}

/** [from, to) aligned outwards to each timeframe's windows, without the windows not closed at `now`. */
export function requestedRanges(timeframes: Timeframe[], fromMicros: number, toMicros: number, nowMicros: number): RecoverRange[] {
  return planBackfill(timeframes, fromMicros, toMicros, nowMicros).ranges.map((range) => ({...range, reasons: ['requested']}))
}

/** The span that holds every range, or undefined when there are none. */
export function rangesSpan(ranges: RecoverRange[]): {fromMicros: number; toMicros: number} | undefined {
  if (ranges.length === 0) return undefined
  return {fromMicros: Math.min(...ranges.map((r) => r.fromMicros)), toMicros: Math.max(...ranges.map((r) => r.toMicros))}
}

/** Counts, per range, the stored candles a rebuild deletes and the trades it reads; in timeframe order. */
export async function measureRanges(engine: Pick<Engine, 'measureRanges'>, ranges: RecoverRange[]): Promise<MeasuredRange[]> {
  const ordered = TIMEFRAMES.flatMap((tf) => ranges.filter((range) => range.timeframe === tf))
  if (ordered.length === 0) return []
  const counts = await engine.measureRanges(ordered)
  return ordered.map((range, index) => ({...range, windows: (range.toMicros - range.fromMicros) / TIMEFRAME_SPECS[range.timeframe].micros, ...counts[index]}))
}

/**
 * The transactions of a repair: each range, cut at UTC midnights so that a month-long --from/--to
 * never becomes one huge transaction (every timeframe divides a day, so no window is cut).
 */
export function repairPieces(ranges: RecoverRange[]): RecoverRange[] {
  const pieces: RecoverRange[] = []
  for (const range of ranges) {
    for (let from = range.fromMicros; from < range.toMicros; ) {
      const to = Math.min(range.toMicros, (Math.floor(from / MICROS_PER_DAY) + 1) * MICROS_PER_DAY)
      pieces.push({...range, fromMicros: from, toMicros: to})
      from = to
    }
  }

  return pieces
}

export interface PieceResult {
  /** Candles written (one per window with trades). */
  candles: number
  /** Stored candles of windows without trades, removed. */
  removed: number
  trades: number
}

/**
 * Deletes the candles of one piece and rebuilds them from the trades, in one unit of work: an
 * interruption leaves the piece as it was or repaired, never half of it. Candles whose values come
 * out the same keep created_at and updated_at (engine.ts replaceWindows), so they stay byte-identical.
 */
export async function repairPiece(engine: Engine, piece: RecoverRange, nowMicros: number): Promise<PieceResult> {
  const {candles, removed, trades} = await engine.replaceWindows(piece.timeframe, {range: {fromMicros: piece.fromMicros, toMicros: piece.toMicros, market: piece.market}}, {nowMicros})
  return {candles, removed, trades}
}

/** What a repair did so far: the pieces committed, what they wrote and read, and how long it took. */
export interface AppliedRepair {
  pieces: number
  candles: number
  removed: number
  trades: number
  durationMs: number
}

/**
 * Repairs the pieces in order, each in its own transaction, adding each committed one to `applied`
 * (so an interrupted repair still says how far it got) before `onRepaired` hears of it.
 */
export async function repairEach(engine: Engine, pieces: RecoverRange[], nowMicros: number, applied: AppliedRepair, onRepaired: (piece: RecoverRange, done: PieceResult) => void): Promise<void> {
  for (const piece of pieces) {
    const done = await repairPiece(engine, piece, nowMicros)
    applied.pieces++
    applied.candles += done.candles
    applied.removed += done.removed
    applied.trades += done.trades
    onRepaired(piece, done)
  }
}
