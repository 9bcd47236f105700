/**
 * Which tape a CSV file is, told from its first non-empty line (header names, column count,
 * booleans), or forced with --format. Header files are mapped by column NAME, never by position.
 */

export type TapeFormat = 'binance' | 'binance-agg' | 'kraken' | 'k2'
export const TAPE_FORMATS: readonly TapeFormat[] = ['binance', 'binance-agg', 'kraken', 'k2']

/** The roles a column can play; each layout maps the ones it has to 0-based positions. */
export interface ColumnMap {
  id?: number
  aggId?: number
  firstId?: number
  lastId?: number
  price?: number
  qty?: number
  time?: number
  buyerMaker?: number
  type?: number
  tradeId?: number
  symbol?: number
  exchange?: number
  side?: number
  sequence?: number
}

export interface TapeLayout {
  format: TapeFormat
  hasHeader: boolean
  columnCount: number
  columns: ColumnMap
  /** Binance layouts without a best-match column are futures: the exchange must be named. */
  futures: boolean
  /** Stored exchange when none is given; undefined for futures (required) and k2 (per row). */
  defaultExchange?: string
  /** Column names for messages (`FILE:LINE: FIELD: …`): the header's, or the layout's own. */
  names: string[]
  /** For messages: `binance (header id,price,qty,time,is_buyer_maker,type)`. */
  description: string
}

/** `klines`: the file holds candles (what it saw, for the message), never a trade tape. */
export type Detection = {layout: TapeLayout} | {problem: string} | {klines: string}

/** `isBuyerMaker` → `is_buyer_maker`, ` Price ` → `price`. */
export function normaliseHeaderName(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/\s+/g, '_')
    .toLowerCase()
}

const HEADER_CELL = /^\s*[A-Za-z_][A-Za-z0-9_ ]*\s*$/

/** A line whose every cell is a name (data rows always hold numbers). */
export function looksLikeHeader(fields: readonly string[]): boolean {
  return fields.length > 0 && fields.every((f) => HEADER_CELL.test(f)) && !fields.every(isBoolean)
}

export function isBoolean(text: string): boolean {
  if (text === 'True' || text === 'False' || text === 'true' || text === 'false') return true
  const t = text.toLowerCase()
  return t === 'true' || t === 'false'
}

const UNSIGNED_DECIMAL = /^\d+(\.\d+)?$/

export function detectLayout(fields: readonly string[], forced?: TapeFormat): Detection {
  const header = looksLikeHeader(fields)
  // Before any forced format: read as trades, a klines row only fails on its column count.
  const klines = header ? klinesHeader(fields.map(normaliseHeaderName)) : klinesRow(fields)
  if (klines) return {klines}
  if (header) return fromHeader(fields.map(normaliseHeaderName), forced)
  return fromFirstRow(fields, forced)
}

const KLINE_PRICES = ['open', 'high', 'low', 'close']

/** A candle header: open, high, low and close columns (Binance's klines, freqtrade's candles). */
function klinesHeader(names: string[]): string | undefined {
  return KLINE_PRICES.every((n) => names.includes(n)) ? `header ${preview(names.join(','))}` : undefined
}

/**
 * A headerless Binance klines row: 12 numbers, open time (13 or 16 digits), four prices, volume,
 * a close time after the open time, quote volume, trade count, two taker volumes and `ignore`.
 */
function klinesRow(f: readonly string[]): string | undefined {
  if (f.length !== 12 || !f.every((x) => UNSIGNED_DECIMAL.test(x))) return undefined
  const time = /^(\d{13}|\d{16})$/
  if (!time.test(f[0]) || !time.test(f[6]) || f[0].length !== f[6].length || !(Number(f[6]) > Number(f[0])) || !/^\d+$/.test(f[8])) return undefined
  return `no header, 12 columns: open time, open, high, low, close, volume, close time, …: ${preview(f.join(','), 60)}`
}

function fromFirstRow(f: readonly string[], forced?: TapeFormat): Detection {
  const n = f.length
  const spotTrades = (): TapeLayout => headerless('binance', 7, {id: 0, price: 1, qty: 2, time: 4, buyerMaker: 5}, false, 'id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch')
  const futuresTrades = (): TapeLayout => headerless('binance', 6, {id: 0, price: 1, qty: 2, time: 4, buyerMaker: 5}, true, 'id,price,qty,quote_qty,time,is_buyer_maker')
  const spotAgg = (): TapeLayout =>
    headerless('binance-agg', 8, {aggId: 0, price: 1, qty: 2, firstId: 3, lastId: 4, time: 5, buyerMaker: 6}, false, 'aggTradeId,price,quantity,firstTradeId,lastTradeId,timestamp,isBuyerMaker,isBestMatch')
  const futuresAgg = (): TapeLayout =>
    headerless('binance-agg', 7, {aggId: 0, price: 1, qty: 2, firstId: 3, lastId: 4, time: 5, buyerMaker: 6}, true, 'agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker')
  const kraken = (): TapeLayout => ({
    ...headerless('kraken', 3, {time: 0, price: 1, qty: 2}, false, 'unix_time_seconds,price,volume'),
    defaultExchange: 'KRAKEN',
  })

  switch (forced) {
    case 'binance':
      return {layout: n === 6 ? futuresTrades() : spotTrades()}
    case 'binance-agg':
      return {layout: n === 7 ? futuresAgg() : spotAgg()}
    case 'kraken':
      return {layout: kraken()}
    case 'k2':
      return {problem: 'a k2 CSV needs a header with the contract column names (trade_id,symbol,exchange,timestamp,price,quantity…)'}
    default:
      break
  }

  if (n === 7 && isBoolean(f[5]) && isBoolean(f[6])) return {layout: spotTrades()}
  if (n === 6 && isBoolean(f[5])) return {layout: futuresTrades()}
  if (n === 8 && isBoolean(f[6]) && isBoolean(f[7])) return {layout: spotAgg()}
  if (n === 7 && isBoolean(f[6])) return {layout: futuresAgg()}
  if (n === 3 && f.every((x) => UNSIGNED_DECIMAL.test(x))) return {layout: kraken()}
  return {problem: `first line has ${n} column${n === 1 ? '' : 's'}, no header: ${preview(f.join(','))}`}
}

function headerless(format: TapeFormat, columnCount: number, columns: ColumnMap, futures: boolean, names: string): TapeLayout {
  return {
    format,
    hasHeader: false,
    columnCount,
    columns,
    futures,
    defaultExchange: format === 'kraken' || futures ? undefined : 'BINANCE',
    names: names.split(','),
    description: `${format} (no header: ${names})`,
  }
}

function fromHeader(names: string[], forced?: TapeFormat): Detection {
  const at = (...candidates: string[]): number | undefined => {
    for (const c of candidates) {
      const i = names.indexOf(c)
      if (i !== -1) return i
    }

    return undefined
  }

  const seen = `header ${preview(names.join(','))}`
  const format: TapeFormat | undefined =
    forced ?? (at('agg_trade_id') === undefined ? (at('trade_id') === undefined ? (at('id') === undefined ? undefined : 'binance') : 'k2') : 'binance-agg')
  if (format === undefined) return {problem: seen}

  const base = {format, hasHeader: true, columnCount: names.length, names, description: `${format} (${seen})`}
  const need = (columns: ColumnMap, required: (keyof ColumnMap)[], label: Record<string, string>): Detection | undefined => {
    const missing = required.filter((r) => columns[r] === undefined).map((r) => label[r])
    if (missing.length === 0) return undefined
    return {problem: `${seen}: a ${format} header needs ${missing.join(', ')}`}
  }

  switch (format) {
    case 'binance':
    case 'binance-agg': {
      const agg = format === 'binance-agg'
      const columns: ColumnMap = {
        price: at('price'),
        qty: at('qty', 'quantity'),
        time: at('time', 'transact_time', 'timestamp'),
        buyerMaker: at('is_buyer_maker'),
        type: at('type'),
        ...(agg ? {aggId: at('agg_trade_id'), firstId: at('first_trade_id'), lastId: at('last_trade_id')} : {id: at('id', 'trade_id')}),
      }
      const required: (keyof ColumnMap)[] = agg ? ['aggId', 'price', 'qty', 'firstId', 'lastId', 'time', 'buyerMaker'] : ['id', 'price', 'qty', 'time', 'buyerMaker']
      const labels = {aggId: 'agg_trade_id', id: 'id', price: 'price', qty: agg ? 'quantity' : 'qty', firstId: 'first_trade_id', lastId: 'last_trade_id', time: agg ? 'transact_time' : 'time', buyerMaker: 'is_buyer_maker'}
      const missing = need(columns, required, labels)
      if (missing) return missing
      const futures = at('is_best_match') === undefined
      return {layout: {...base, columns, futures, defaultExchange: futures ? undefined : 'BINANCE'}}
    }

    case 'k2': {
      const columns: ColumnMap = {
        tradeId: at('trade_id'),
        symbol: at('symbol'),
        exchange: at('exchange'),
        time: at('timestamp'),
        price: at('price'),
        qty: at('quantity'),
        side: at('side'),
        sequence: at('source_sequence'),
      }
      const labels = {tradeId: 'trade_id', time: 'timestamp', price: 'price', qty: 'quantity'}
      const missing = need(columns, ['tradeId', 'time', 'price', 'qty'], labels)
      if (missing) return missing
      return {layout: {...base, columns, futures: false}}
    }

    case 'kraken':
      return {layout: {...base, columns: {time: 0, price: 1, qty: 2}, futures: false, defaultExchange: 'KRAKEN'}}
  }
}

/** Text for a message: control characters shown as '?', cut at `max` characters. */
export function preview(text: string, max = 120): string {
  // eslint-disable-next-line no-control-regex
  const printable = text.replaceAll(/[\u0000-\u0008\u000B-\u001F\u007F]/g, '?')
  return printable.length <= max ? printable : `${printable.slice(0, max)}…`
}
