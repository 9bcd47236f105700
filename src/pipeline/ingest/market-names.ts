/** Exchange and symbol names as the data contract stores them. */
import {basename} from 'node:path'

import type {TapeLayout} from './tape-format.js'

import {UsageError} from '../errors.js'

/** `btc/usdt`, `BTC-USDT` → `BTCUSDT`. */
export function normaliseSymbol(text: string): string {
  return text.replaceAll('/', '').replaceAll('-', '').toUpperCase()
}

export function normaliseExchange(text: string): string {
  return text.toUpperCase()
}

const NAME = /^[A-Z0-9_.:-]+$/
export const nameReason = (raw: string) => `'${raw}' may hold only letters, digits and _ . : - (a symbol drops / and -)`

/** Why a normalised symbol or exchange cannot be stored, or undefined. */
export function nameProblem(normalised: string, raw: string): string | undefined {
  if (normalised === '') return 'is empty'
  if (!NAME.test(normalised)) return nameReason(raw)
  return undefined
}

/**
 * The symbol a Binance-style file name states: the leading `[A-Z0-9_]+` before the first `-`
 * (`BTCUSDT-trades-2024-08-08.csv`, `BTCUSD_PERP-cm-trades_….csv`, `XRPETH-aggTrades-….zip`).
 */
export function symbolFromFileName(file: string): string | undefined {
  const m = /^([A-Z0-9_]+)-/.exec(basename(file))
  if (!m || !/[A-Z]/.test(m[1])) return undefined
  return m[1]
}

export interface TapeNames {
  /** Constant for the whole file, or undefined when a k2 file names it per row. */
  exchange?: string
  symbol?: string
}

/**
 * The exchange and symbol of a tape, from the flags, the layout's default or the file name.
 * Futures-style Binance layouts have no default: spot and futures BTCUSDT are different markets.
 */
export function resolveTapeNames(file: string, layout: TapeLayout, options: {exchange?: string; symbol?: string}): TapeNames {
  const k2 = layout.format === 'k2'
  const exchange = options.exchange === undefined ? layout.defaultExchange : normaliseExchange(options.exchange)
  if (exchange === undefined) {
    if (!k2) {
      throw new UsageError(
        `${file}: ${layout.description} has no best-match column, so it is a futures tape; pass --exchange, e.g. BINANCE_USDM or BINANCE_COINM`,
        {code: 'exchange_required', hint: 'Spot and futures BTCUSDT are different markets: name the futures one, e.g. --exchange BINANCE_USDM (USD-M) or --exchange BINANCE_COINM (COIN-M).'},
      )
    }

    if (layout.columns.exchange === undefined) {
      throw new UsageError(`${file}: the k2 header has no exchange column; pass --exchange`, {code: 'exchange_required'})
    }
  }

  const symbol = options.symbol === undefined ? (k2 ? undefined : symbolFromFileName(file)) : normaliseSymbol(options.symbol)
  if (symbol === undefined) {
    if (!k2) {
      throw new UsageError(`${file}: the file name does not say the symbol; pass --symbol (e.g. --symbol BTCUSDT)`, {
        code: 'symbol_required',
        hint: 'Binance-style names such as BTCUSDT-trades-2024-08-08.csv carry it.',
      })
    }

    if (layout.columns.symbol === undefined) {
      throw new UsageError(`${file}: the k2 header has no symbol column; pass --symbol`, {code: 'symbol_required'})
    }
  }

  return {exchange, symbol}
}

/** --exchange / --symbol values that cannot be stored: a UsageError before any reading. */
export function checkNameOptions(options: {exchange?: string; symbol?: string}): void {
  if (options.exchange !== undefined) {
    const reason = nameProblem(normaliseExchange(options.exchange), options.exchange)
    if (reason) throw new UsageError(`--exchange: ${reason}`, {code: 'bad_flag'})
  }

  if (options.symbol !== undefined) {
    const reason = nameProblem(normaliseSymbol(options.symbol), options.symbol)
    if (reason) throw new UsageError(`--symbol: ${reason}`, {code: 'bad_flag'})
  }
}
