// The row queries the checks need, one method per question and batched over timeframes: a check
// command gets what it judges in one or a few calls (a Spark call costs about a second). The checks
// judge (thresholds, statuses, summaries, hints); an engine only fetches. Values are plain
// JavaScript: instants as µs numbers, counts as numbers, decimals as exact text, and the instants
// an operator reads in evidence as ISO-8601 text, formatted as formatMicros does.

import type {Timeframe} from '../timeframes.js'

/** The invariants every candle row must hold, in the order the checks report them. */
export const ROW_INVARIANTS = ['ohlc_bounds', 'vwap_bounds', 'positive_volume', 'window_order', 'window_length', 'window_alignment', 'window_date'] as const
export type RowInvariant = (typeof ROW_INVARIANTS)[number]

/** A timeframe's windows starting in [fromMicros, toMicros), both aligned to the timeframe. */
export interface TimeframeSpan {
  timeframe: Timeframe
  fromMicros: number
  toMicros: number
}

/** A timeframe's candles whose window starts at or after fromMicros. */
export interface TimeframeSince {
  timeframe: Timeframe
  fromMicros: number
}

export interface FreshnessFigures {
  /** Each exchange's newest trade (any order). */
  exchanges: Array<{exchange: string; newestMicros: number}>
  /** Per timeframe asked for: its candles, and the newest window_end (null: no candle). */
  candles: Array<{timeframe: Timeframe; candles: number; newestEndMicros: number | null}>
}

/** A stored candle as evidence. */
export interface CandleEvidence {
  symbol: string
  exchange: string
  window_start: string
  window_end: string
  window_date: string
  open_price: string
  high_price: string
  low_price: string
  close_price: string
  volume: string
  trade_count: number
  vwap: string
}

/** Offending rows of one kind: how many, the window starts of the first and last, and the first `limit` rows. */
export interface Offending<Row> {
  total: number
  firstMicros: number | null
  lastMicros: number | null
  rows: Row[]
}

export interface RowInvariantFigures {
  timeframe: Timeframe
  candles: number
  /** Rows ordered by window_start, symbol, exchange; read only for invariants that broke. */
  broken: Record<RowInvariant, Offending<CandleEvidence>>
}

export interface DuplicateKeyFigures {
  timeframe: Timeframe
  /** Keys (symbol, exchange, window_start) with more than one candle, ordered by window_start, symbol, exchange. */
  duplicates: Offending<{symbol: string; exchange: string; window_start: string; copies: number}>
}

/** What a rollup comparison asks: `timeframe`'s candles from fromMicros on, against the rollup of `child`'s. */
export interface RollupRequest extends TimeframeSince {
  child: Timeframe
}

export interface RollupRow {
  symbol: string
  exchange: string
  window_start: string
  /** The fields that differ, comma separated (`children` when the candle has none). */
  fields: string
  /** open / high / low / close / volume / trade_count / vwap of the candle and of its children's rollup (`none` without children). */
  candle: string
  children: string
  /** A child changed after the parent was built. */
  stale: boolean
  /** Not stale, and the child flow (or the parent's own) has not had its turn at the window yet. */
  pending: boolean
}

export interface RollupFigures {
  timeframe: Timeframe
  /** Parent candles compared (those after the oldest child window still kept). */
  compared: number
  /** Differing candles; wrong = neither stale nor pending; waiting = pending. */
  total: number
  wrong: number
  waiting: number
  /** Pending for the child flow; pending for the parent's own flow only. */
  waitingChildren: number
  waitingOwn: number
  /** Window starts of the first and last wrong candle. */
  firstMicros: number | null
  lastMicros: number | null
  /** The wrong ones first, then by window_start, symbol, exchange. */
  rows: RollupRow[]
}

/**
 * Windows whose trades and candles disagree, split by the timeframe's flow mark: a window is pending
 * when no run has closed it yet or some of its trades were ingested after the last run.
 * `broken` counts the others; first/last are theirs. Rows: the broken first, then by window start,
 * symbol, exchange.
 */
export interface PendingAware<Row> {
  timeframe: Timeframe
  total: number
  broken: number
  firstMicros: number | null
  lastMicros: number | null
  rows: Array<Row & {pending: boolean}>
}

export interface MissingWindowFigures extends PendingAware<{symbol: string; exchange: string; window_start: string; trades: number}> {
  /** Windows with trades in the span. */
  windows: number
  /** Windows without trades between a market's first and last window with trades. */
  quiet: number
}

export interface SilenceRequest {
  fromMicros: number
  toMicros: number
  /** Silences at least this long... */
  minMicros: number
  /** ...where the market's own rate expects at least this many trades. */
  minExpectedTrades: number
  limit: number
}

export interface SilenceFigures {
  /** Minutes of a market with trades in the span. */
  minutes: number
  /** Ordered by silent_from, symbol, exchange. */
  silences: {total: number; rows: Array<{symbol: string; exchange: string; silent_from: string; silent_to: string; minutes: number; expected_trades: number}>}
}

export interface CountMismatchFigures
  extends PendingAware<{symbol: string; exchange: string; window_start: string; trade_count: number; source_count: number; count_diff: number; volume: string; source_volume: string}> {
  /** Candles in the span. */
  candles: number
}

export interface CountMismatchOptions {
  /**
   * Leave out the candles before the window of the oldest stored trade (their trades may have been
   * retired by a trades retention policy); with no trade at all, none is left out.
   */
  sinceOldestTrade?: boolean
}

export interface DoomedTradesRequest {
  /** Trades whose exchange_date is before this date (YYYY-MM-DD). */
  cutoff: string
  /** Per timeframe, the first date its candles are kept for. */
  candlesKeptFrom: Record<Timeframe, string>
  /** Minutes of doomed trades before this date are counted as uncheckable. */
  uncheckedBefore: string
  limit: number
}

export interface DoomedWindow {
  symbol: string
  exchange: string
  window_start: string
  trades: number
  candle_trades: number | null
  volume: string
  candle_volume: string | null
  /** true: no candle; false: a candle whose count or volume differs. */
  missing: boolean
}

export interface DoomedTradesFigures {
  trades: number
  /** Per timeframe: the windows (kept by its policy) of doomed trades without a matching candle, by window start, symbol, exchange. */
  windows: Array<{timeframe: Timeframe} & Offending<DoomedWindow>>
  /** Minutes of doomed trades before uncheckedBefore, and their markets; rows: one per market, by its first minute. */
  unchecked: {minutes: number; markets: number; rows: Array<{symbol: string; exchange: string; window_start: string; minutes: number}>}
}

/** A trade as evidence. */
export interface TradeEvidence {
  trade_id: string
  symbol: string
  exchange: string
  timestamp: string
  price: string
  quantity: string
  side: string
  ingested_at: string
}

export interface SourceTradeRequest {
  /** Duplicate ids among trades from this instant on. */
  idsSinceMicros: number
  /** Identical fills among trades from this instant on. */
  fillsSinceMicros: number
  /** Plausible trade instants: [earliestMicros, latestMicros]. */
  earliestMicros: number
  latestMicros: number
  limit: number
}

export interface SourceTradeFigures {
  /** Trades in all, since idsSinceMicros, since fillsSinceMicros. */
  trades: number
  tradesSinceIds: number
  tradesSinceFills: number
  /** price ≤ 0 or quantity ≤ 0; timestamps outside the plausible span. By timestamp, trade_id. */
  badValues: {total: number; rows: TradeEvidence[]}
  badTimestamps: {total: number; rows: TradeEvidence[]}
  /** Groups of identical (exchange, symbol, trade_id), and of identical (timestamp, symbol, exchange, price, quantity); extra = rows beyond one per group. */
  duplicateIds: {total: number; extra: number; rows: Array<{exchange: string; symbol: string; trade_id: string; copies: number}>}
  duplicateFills: {total: number; extra: number; rows: Array<{timestamp: string; symbol: string; exchange: string; price: string; quantity: string; copies: number}>}
}

export interface MarketVolumeFigures {
  markets: number
  tradesLastHour: number
  tradesLastDay: number
  /** The busiest markets of the day first (then symbol, exchange). */
  rows: Array<{symbol: string; exchange: string; trades_1h: number; volume_1h: string; trades_24h: number; volume_24h: string}>
}

/** The queries of the checks. One instance per open engine session; it may keep per-session caches. */
export interface CheckQueries {
  /** Each exchange's newest trade and each timeframe's newest candle end. */
  freshness(timeframes: Timeframe[]): Promise<FreshnessFigures>

  /** The row invariants of each timeframe's candles, counted in one scan, with up to `limit` rows per broken invariant. */
  rowInvariants(spans: TimeframeSince[], limit: number): Promise<RowInvariantFigures[]>
  duplicateKeys(spans: TimeframeSince[], limit: number): Promise<DuplicateKeyFigures[]>
  /** Each parent candle against the rollup of its children (DESIGN.md, "Candle semantics" 7). */
  rollupMismatches(requests: RollupRequest[], limit: number): Promise<RollupFigures[]>

  /** Windows with trades and no candle (pipeline gaps). */
  missingWindows(spans: TimeframeSpan[], limit: number): Promise<MissingWindowFigures[]>
  /** Silences of markets that normally trade (ingest gaps). */
  tradeSilences(request: SilenceRequest): Promise<SilenceFigures>

  /** The oldest stored trade (null: none). */
  oldestTrade(): Promise<number | null>
  /** Candles whose trade_count or volume differs from their trades' (reconcile). */
  countMismatches(spans: TimeframeSpan[], limit: number, options?: CountMismatchOptions): Promise<CountMismatchFigures[]>

  /** What a trades retention would delete, and the windows of it that no candle accounts for. */
  doomedTrades(request: DoomedTradesRequest): Promise<DoomedTradesFigures>

  /** Corrupted and duplicate source trades. */
  sourceTrades(request: SourceTradeRequest): Promise<SourceTradeFigures>
  /** Trades and volume per market with trades in [dayFromMicros, throughMicros], and in [hourFromMicros, throughMicros]. */
  marketVolumes(request: {dayFromMicros: number; hourFromMicros: number; throughMicros: number; limit: number}): Promise<MarketVolumeFigures>
}
