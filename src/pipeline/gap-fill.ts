import type {ReadTimeframe} from './read-timeframe.js'
import type {ReadCandle} from './resample.js'

import {windowOf} from './read-timeframe.js'
import {formatMicros, parseIsoInstant} from './time.js'

// `candles --fill`: what a window without trades reads as. `none`: it is absent (as stored);
// `null`: a row of nulls; `previous`: a flat candle at the previous close, zero volume and trades.
// Every row says whether it was filled, so a filled one is never taken for a traded one.

export const FILL_MODES = ['none', 'null', 'previous'] as const
export type FillMode = (typeof FILL_MODES)[number]

type Values = Omit<ReadCandle, 'symbol' | 'exchange' | 'window_start' | 'window_end'>
/** A candle as `--fill` gives it: traded (filled false), or filled in; a null fill has no values. */
export type FilledCandle = Pick<ReadCandle, 'symbol' | 'exchange' | 'window_start' | 'window_end'> & {[K in keyof Values]: Values[K] | null} & {filled: boolean}

const ZERO = '0.00000000'
const ZERO_QUOTE = '0.0000000000000000'

/**
 * The candles with the windows between each market's first candle and its last (or `toMicros`)
 * that have none filled in, in window order. A window before a market's first candle is not
 * filled: `previous` has no close to carry there.
 */
export function fillGaps(candles: ReadCandle[], tf: ReadTimeframe, mode: Exclude<FillMode, 'none'>, toMicros?: number): FilledCandle[] {
  const byMarket = new Map<string, ReadCandle[]>()
  for (const candle of candles) {
    const key = `${candle.symbol}\u0000${candle.exchange}`
    const own = byMarket.get(key)
    if (own) own.push(candle)
    else byMarket.set(key, [candle])
  }

  const rows: FilledCandle[] = []
  for (const own of byMarket.values()) {
    const last = parseIsoInstant(own.at(-1)!.window_start, 'candle')
    const until = toMicros === undefined ? last + 1 : Math.max(last + 1, toMicros)
    let index = 0
    let previous: ReadCandle | undefined
    for (let window = windowOf(tf, parseIsoInstant(own[0].window_start, 'candle')); window.start < until; window = windowOf(tf, window.end)) {
      const candle = own[index]
      if (candle && parseIsoInstant(candle.window_start, 'candle') === window.start) {
        rows.push({...candle, filled: false})
        previous = candle
        index++
        continue
      }

      const at = {symbol: own[0].symbol, exchange: own[0].exchange, window_start: formatMicros(window.start), window_end: formatMicros(window.end)}
      rows.push(mode === 'null' ? nullRow(at) : flatRow(at, previous!))
    }
  }

  return rows.sort((a, b) => Date.parse(a.window_start) - Date.parse(b.window_start) || a.exchange.localeCompare(b.exchange) || a.symbol.localeCompare(b.symbol))
}

function nullRow(at: Pick<ReadCandle, 'symbol' | 'exchange' | 'window_start' | 'window_end'>): FilledCandle {
  const none = {open_price: null, high_price: null, low_price: null, close_price: null, volume: null, trade_count: null, vwap: null}
  return {...at, ...none, quote_volume: null, taker_buy_volume: null, taker_buy_quote_volume: null, filled: true}
}

/** No trade: open = high = low = close = the previous close, nothing traded (vwap: none). */
function flatRow(at: Pick<ReadCandle, 'symbol' | 'exchange' | 'window_start' | 'window_end'>, previous: ReadCandle): FilledCandle {
  const close = previous.close_price
  return {...at, open_price: close, high_price: close, low_price: close, close_price: close, volume: ZERO, trade_count: '0', vwap: null, quote_volume: ZERO_QUOTE, taker_buy_volume: ZERO, taker_buy_quote_volume: ZERO_QUOTE, filled: true}
}
