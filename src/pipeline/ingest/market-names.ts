/** Exchange and symbol names as the data contract stores them. */
import {basename} from 'node:path'

/** `btc/usdt`, `BTC-USDT` → `BTCUSDT`. */
export function normaliseSymbol(text: string): string {
  return text.replaceAll('/', '').replaceAll('-', '').toUpperCase()
}

export function normaliseExchange(text: string): string {
  return text.toUpperCase()
}

const NAME = /^[A-Z0-9_.:]+$/

/** Why a normalised symbol or exchange cannot be stored, or undefined. */
export function nameProblem(normalised: string, raw: string): string | undefined {
  if (normalised === '') return 'is empty'
  if (!NAME.test(normalised)) return `'${raw}' may hold only letters, digits and _ . : (and / - in symbols, which are dropped)`
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
