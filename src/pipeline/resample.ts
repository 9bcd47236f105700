import type {CandleRow} from './engine/engine.js'
import type {ReadTimeframe} from './read-timeframe.js'

import {decimal, roundedQuotient, units} from './exact-decimal.js'
import {windowOf} from './read-timeframe.js'
import {formatMicros, parseIsoInstant} from './time.js'

// Candles of a read timeframe (15m, 4h, 1w, 1M…) from the stored candles that tile it, exactly:
// open = the first child's open, close = the last child's close, high/low = max/min, the volumes,
// trade counts and quote volumes summed, vwap = Σ quote volume / Σ volume rounded half away from
// zero to 8 places. The same as building them from the trades, since every stored candle is.

/** A candle as a reader gets it: a resampled one has no vwap where a child had no quote volume. */
export type ReadCandle = Omit<CandleRow, 'vwap'> & {vwap: string | null}

const PRICE_SCALE = 8
const QUOTE_SCALE = 16

interface Bucket {
  first: CandleRow
  last: CandleRow
  start: number
  end: number
  high: bigint
  low: bigint
  volume: bigint
  trades: bigint
  /** undefined: a child without it (built before the kline fields), so the window has none. */
  quote?: bigint
  takerBuy?: bigint
  takerBuyQuote?: bigint
}

const optionalSum = (sum: bigint | undefined, value: string | null, scale: number): bigint | undefined => (sum === undefined || value === null ? undefined : sum + units(value, scale))

/**
 * The candles of `tf` from `children`, the stored candles of its source timeframe in window order.
 * A window is built from the children it holds; its vwap is exact where every child has a quote
 * volume, and null otherwise (candles built before the kline fields: a backfill fills them).
 */
export function resample(children: CandleRow[], tf: ReadTimeframe): ReadCandle[] {
  const buckets = new Map<string, Bucket>()
  for (const child of children) {
    const {start, end} = windowOf(tf, parseIsoInstant(child.window_start, 'candle'))
    const key = `${child.symbol}\u0000${child.exchange}\u0000${start}`
    const [high, low] = [units(child.high_price, PRICE_SCALE), units(child.low_price, PRICE_SCALE)]
    const bucket = buckets.get(key)
    if (!bucket) {
      buckets.set(key, {
        first: child,
        last: child,
        start,
        end,
        high,
        low,
        volume: units(child.volume, PRICE_SCALE),
        trades: BigInt(child.trade_count),
        quote: child.quote_volume === null ? undefined : units(child.quote_volume, QUOTE_SCALE),
        takerBuy: child.taker_buy_volume === null ? undefined : units(child.taker_buy_volume, PRICE_SCALE),
        takerBuyQuote: child.taker_buy_quote_volume === null ? undefined : units(child.taker_buy_quote_volume, QUOTE_SCALE),
      })
      continue
    }

    bucket.last = child
    if (high > bucket.high) bucket.high = high
    if (low < bucket.low) bucket.low = low
    bucket.volume += units(child.volume, PRICE_SCALE)
    bucket.trades += BigInt(child.trade_count)
    bucket.quote = optionalSum(bucket.quote, child.quote_volume, QUOTE_SCALE)
    bucket.takerBuy = optionalSum(bucket.takerBuy, child.taker_buy_volume, PRICE_SCALE)
    bucket.takerBuyQuote = optionalSum(bucket.takerBuyQuote, child.taker_buy_quote_volume, QUOTE_SCALE)
  }

  return [...buckets.values()]
    .sort((a, b) => a.start - b.start || a.first.exchange.localeCompare(b.first.exchange) || a.first.symbol.localeCompare(b.first.symbol))
    .map((b) => ({
      symbol: b.first.symbol,
      exchange: b.first.exchange,
      window_start: formatMicros(b.start),
      window_end: formatMicros(b.end),
      open_price: b.first.open_price,
      high_price: decimal(b.high, PRICE_SCALE),
      low_price: decimal(b.low, PRICE_SCALE),
      close_price: b.last.close_price,
      volume: decimal(b.volume, PRICE_SCALE),
      trade_count: b.trades.toString(),
      // Σ quote (16 places) / Σ volume (8 places) is the vwap in 8-place units.
      vwap: b.quote === undefined ? null : decimal(roundedQuotient(b.quote, b.volume), PRICE_SCALE),
      quote_volume: b.quote === undefined ? null : decimal(b.quote, QUOTE_SCALE),
      taker_buy_volume: b.takerBuy === undefined ? null : decimal(b.takerBuy, PRICE_SCALE),
      taker_buy_quote_volume: b.takerBuyQuote === undefined ? null : decimal(b.takerBuyQuote, QUOTE_SCALE),
    }))
}
