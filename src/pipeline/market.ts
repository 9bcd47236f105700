import type {MarketScope} from './engine/engine.js'

/** `BTCUSDT on BINANCE`, `BTCUSDT (every exchange)`, `KRAKEN (every symbol)`: for the messages. */
export function marketText(market: MarketScope): string {
  if (market.symbol && market.exchange) return `${market.symbol} on ${market.exchange}`
  return market.symbol ? `${market.symbol} (every exchange)` : `${market.exchange} (every symbol)`
}
