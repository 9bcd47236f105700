import {Flags} from '@oclif/core'

import type {MarketScope} from './pipeline/engine/engine.js'

export {marketText} from './pipeline/market.js'

/** `--symbol` and `--exchange`: a job narrowed to one market (or one symbol, or one exchange). */
export const marketFlags = {
  symbol: Flags.string({summary: 'Only this symbol\'s candles (e.g. BTCUSDT).', helpGroup: 'MARKET'}),
  exchange: Flags.string({summary: 'Only this exchange\'s candles (e.g. BINANCE).', helpGroup: 'MARKET'}),
}

/** The market the flags ask for, as stored (upper case); undefined: every market. */
export function marketScope(flags: {symbol?: string; exchange?: string}): MarketScope | undefined {
  const symbol = flags.symbol?.trim().toUpperCase()
  const exchange = flags.exchange?.trim().toUpperCase()
  if (!symbol && !exchange) return undefined
  return {...(symbol && {symbol}), ...(exchange && {exchange})}
}
