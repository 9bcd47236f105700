import type {Timeframe} from '../timeframes.js'

// What the engines give readers (candles, export, bars): candles and trades as exact text.

export interface CandleRow {
  symbol: string
  exchange: string
  window_start: string
  window_end: string
  open_price: string
  high_price: string
  low_price: string
  close_price: string
  volume: string
  trade_count: string
  vwap: string
  /** The kline fields (schema.ts KLINE_COLUMNS); null on candles built before them, taker ones also where no trade had a side. */
  quote_volume: string | null
  taker_buy_volume: string | null
  taker_buy_quote_volume: string | null
}

export interface CandleQuery {
  /** One symbol, several, or (absent) every one. */
  symbol?: string | string[]
  exchange?: string
  timeframe: Timeframe
  fromMicros?: number
  toMicros?: number
  limit: number
}

export interface TradeQuery {
  symbol: string
  exchange?: string
  fromMicros: number
  toMicros: number
  limit: number
}

/** A trade as the bars read it: decimals as exact text. */
export interface TradeRow {
  exchange: string
  symbol: string
  timestampMicros: number
  price: string
  quantity: string
  /** The exchange trades the row stands for (an aggTrade: more than one). */
  trades: number
}
