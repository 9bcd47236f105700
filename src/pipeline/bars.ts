import type {Engine, TradeRow} from './engine/engine.js'

import {UsageError} from './errors.js'
import {decimal, roundedQuotient, units} from './exact-decimal.js'
import {formatMicros} from './time.js'

// Trade-driven bars (`candles --bars`): a bar closes on the trade that brings it to N trades, X of
// volume or X of notional (price·quantity), in the candles' order of trades (timestamp,
// source_sequence, trade_id: deterministic on ties). A trade is never split: the one that crosses
// the threshold ends its bar. The last bar of a market may not have reached it (complete: false).

export type BarRule = {kind: 'ticks'; size: bigint} | {kind: 'volume'; size: bigint} | {kind: 'dollar'; size: bigint}

/** Quantities and prices have 8 places, notional 16: the thresholds are held at those scales. */
const SCALE = {ticks: 0, volume: 8, dollar: 16} as const

export interface Bar {
  symbol: string
  exchange: string
  /** The first and the last trade's instant. */
  bar_start: string
  bar_end: string
  open_price: string
  high_price: string
  low_price: string
  close_price: string
  volume: string
  trade_count: number
  vwap: string
  quote_volume: string
  complete: boolean
}

/** `ticks:N`, `volume:X`, `dollar:X` (X a positive decimal). */
export function parseBarRule(text: string): BarRule {
  const match = /^(ticks|volume|dollar):(\d+(?:\.\d+)?)$/.exec(text.trim())
  const kind = match?.[1] as BarRule['kind'] | undefined
  const problem = `--bars: '${text}' is not a bar rule (ticks:N, volume:X or dollar:X, e.g. ticks:1000, volume:50, dollar:1000000)`
  if (!match || !kind) throw new UsageError(problem, {code: 'usage'})
  if (kind === 'ticks' && match[2].includes('.')) throw new UsageError(problem, {code: 'usage'})
  const size = thresholdUnits(match[2], SCALE[kind])
  if (size <= 0n) throw new UsageError(`--bars: the size must be above 0, got ${match[2]}`, {code: 'usage'})
  return {kind, size}
}

/** A threshold's text at its scale; more places than the scale is a usage error, not a rounding. */
function thresholdUnits(text: string, scale: number): bigint {
  const frac = text.split('.')[1] ?? ''
  if (frac.length > scale) throw new UsageError(`--bars: ${text} has more than ${scale} decimal places`, {code: 'usage'})
  return units(text, scale)
}

interface Open {
  first: TradeRow
  last: TradeRow
  high: bigint
  low: bigint
  volume: bigint
  quote: bigint
  trades: number
}

/** The bars of the trades (given per exchange in the candles' order). */
export function buildBars(trades: TradeRow[], rule: BarRule): Bar[] {
  const bars: Bar[] = []
  let open: Open | undefined
  for (const trade of trades) {
    if (open && open.first.exchange !== trade.exchange) {
      bars.push(close(open, false))
      open = undefined
    }

    const price = units(trade.price, 8)
    const quantity = units(trade.quantity, 8)
    if (open) {
      open.last = trade
      if (price > open.high) open.high = price
      if (price < open.low) open.low = price
      open.volume += quantity
      open.quote += price * quantity
      open.trades += trade.trades
    } else {
      open = {first: trade, last: trade, high: price, low: price, volume: quantity, quote: price * quantity, trades: trade.trades}
    }

    const reached = rule.kind === 'ticks' ? BigInt(open.trades) >= rule.size : rule.kind === 'volume' ? open.volume >= rule.size : open.quote >= rule.size
    if (reached) {
      bars.push(close(open, true))
      open = undefined
    }
  }

  if (open) bars.push(close(open, false))
  return bars
}

function close(bar: Open, complete: boolean): Bar {
  const vwap = bar.volume === 0n ? 0n : roundedQuotient(bar.quote, bar.volume)
  return {
    symbol: bar.first.symbol,
    exchange: bar.first.exchange,
    bar_start: formatMicros(bar.first.timestampMicros),
    bar_end: formatMicros(bar.last.timestampMicros),
    open_price: decimal(units(bar.first.price, 8), 8),
    high_price: decimal(bar.high, 8),
    low_price: decimal(bar.low, 8),
    close_price: decimal(units(bar.last.price, 8), 8),
    volume: decimal(bar.volume, 8),
    trade_count: bar.trades,
    vwap: decimal(vwap, 8),
    quote_volume: decimal(bar.quote, 16),
    complete,
  }
}

/** The most trades one bar read takes. */
export const MAX_BAR_TRADES = 5_000_000

/** The newest `limit` bars of a symbol's trades in [from, to), per exchange. */
export async function readBars(
  engine: Pick<Engine, 'readTrades'>,
  request: {symbol: string; exchange?: string; fromMicros: number; toMicros: number; rule: BarRule; limit: number},
): Promise<Bar[]> {
  const trades = await engine.readTrades({symbol: request.symbol, exchange: request.exchange, fromMicros: request.fromMicros, toMicros: request.toMicros, limit: MAX_BAR_TRADES + 1})
  if (trades.length > MAX_BAR_TRADES) throw new UsageError(`--bars: more than ${MAX_BAR_TRADES.toLocaleString('en-US')} trades from ${formatMicros(request.fromMicros)} to ${formatMicros(request.toMicros)}; narrow --from/--to`, {code: 'too_many_trades'})
  return buildBars(trades, request.rule).slice(-request.limit)
}
