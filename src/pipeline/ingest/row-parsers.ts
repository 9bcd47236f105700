/**
 * Per-format row checks: every value of a row is validated here, in JS, before the row is staged.
 * A check returns the trade's time in µs, a problem ({field, reason}), or SKIP (a non-MARKET row).
 * The SQL that turns staged rows into contract rows (staged-sql.ts) relies on these checks.
 */
import {PRICE_INTEGER_DIGITS, QUANTITY_INTEGER_DIGITS, bigintProblem, decimalProblem} from './decimal-text.js'
import {nameProblem, normaliseExchange, normaliseSymbol} from './market-names.js'
import {TapeLayout, isBoolean} from './tape-format.js'
import {binanceTimeMicros, contractMicros, unixSecondsTextMicros} from './time-text.js'
import {TimeWindow, outsideWindowReason} from './time-window.js'

export interface RowProblem {
  field: string
  reason: string
}

export const SKIP: unique symbol = Symbol('skip non-market row')
export type RowVerdict = number | RowProblem | typeof SKIP

export type RowCheck = (fields: string[]) => RowVerdict

/** What a k2 file says per row, when it is not overridden: one value, or several ('*'). */
export class NamesSeen {
  first?: string
  several = false

  note(name: string): void {
    if (this.first === undefined) this.first = name
    else if (!this.several && name !== this.first) this.several = true
  }

  get value(): string | undefined {
    return this.several ? '*' : this.first
  }
}

export interface RowCheckContext {
  /** Given with --symbol/--exchange: the file's own column is then not read. */
  symbolOverride?: string
  exchangeOverride?: string
  symbols: NamesSeen
  exchanges: NamesSeen
  /**
   * Cleared when the accepted rows' exchange ids stop strictly increasing (Binance tapes are in id
   * order), i.e. when the file might repeat a trade id and needs deduplicating. k2 files always do.
   */
  uniqueIds: boolean
  lastId: number
  /** The least and greatest trade id text of the accepted rows (Binance and k2). */
  idLo?: string
  idHi?: string
  /** Trade times outside it are bad rows. */
  window: TimeWindow
}

export function newRowCheckContext(window: TimeWindow): RowCheckContext {
  return {symbols: new NamesSeen(), exchanges: new NamesSeen(), uniqueIds: true, lastId: -1, window}
}

/** The character that separates staged fields when a line had to be re-joined (quoted CSV). */
export const STAGED_SEPARATOR = '\u001F'

export function rowCheckFor(layout: TapeLayout, context: RowCheckContext): RowCheck {
  const check = valueCheckFor(layout, context)
  const expected = layout.columnCount
  return (fields) => {
    if (fields.length !== expected) return {field: 'columns', reason: `expected ${expected} columns, got ${fields.length}`}
    return check(fields)
  }
}

function valueCheckFor(layout: TapeLayout, context: RowCheckContext): RowCheck {
  const c = layout.columns
  const name = (i: number | undefined): string => layout.names[i!] ?? `column ${i! + 1}`
  const price = c.price!
  const qty = c.qty!
  const time = c.time!

  const amounts = (f: string[]): RowProblem | undefined => {
    let reason = decimalProblem(f[price], PRICE_INTEGER_DIGITS)
    if (reason) return {field: name(price), reason}
    reason = decimalProblem(f[qty], QUANTITY_INTEGER_DIGITS)
    if (reason) return {field: name(qty), reason}
    return undefined
  }

  const whole = (f: string[], i: number): RowProblem | undefined => {
    const reason = bigintProblem(f[i])
    return reason ? {field: name(i), reason} : undefined
  }

  const buyerMaker = (f: string[], i: number): RowProblem | undefined =>
    isBoolean(f[i]) ? undefined : {field: name(i), reason: `expected true or false, got '${f[i]}'`}

  const {window} = context
  const micros = (f: string[], parse: (text: string) => number | string): RowVerdict => {
    const t = parse(f[time])
    if (typeof t !== 'number') return {field: name(time), reason: t}
    if (t < window.earliestMicros || t > window.latestMicros) return {field: name(time), reason: outsideWindowReason(t, window)}
    return t
  }

  switch (layout.format) {
    case 'binance':
    case 'binance-agg': {
      const ids = layout.format === 'binance' ? [c.id!] : [c.aggId!, c.firstId!, c.lastId!]
      const bm = c.buyerMaker!
      const type = c.type
      const key = ids[0]
      const noteId = (f: string[]): void => {
        noteIdRange(context, f[key])
        if (!context.uniqueIds) return
        const id = Number(f[key])
        if (!(id > context.lastId) || id > Number.MAX_SAFE_INTEGER) context.uniqueIds = false
        context.lastId = id
      }

      return (f) => {
        if (type !== undefined && f[type] !== 'MARKET') {
          if (f[type] === '') return {field: name(type), reason: 'is empty'}
          return SKIP
        }

        for (const i of ids) {
          const problem = whole(f, i)
          if (problem) return problem
        }

        // An aggTrade stands for the trades first_trade_id … last_trade_id (its candle counts them all).
        if (layout.format === 'binance-agg' && BigInt(f[c.lastId!]) < BigInt(f[c.firstId!])) return {field: name(c.lastId!), reason: `${f[c.lastId!]} is before first_trade_id ${f[c.firstId!]}`}

        const verdict = amounts(f) ?? buyerMaker(f, bm) ?? micros(f, binanceTimeMicros)
        if (typeof verdict === 'number') noteId(f)
        return verdict
      }
    }

    case 'kraken':
      return (f) => amounts(f) ?? micros(f, unixSecondsTextMicros)

    case 'k2':
      context.uniqueIds = false
      return k2Check(layout, context, name, amounts, micros)
  }
}

function noteIdRange(context: RowCheckContext, id: string): void {
  if (context.idLo === undefined || id < context.idLo) context.idLo = id
  if (context.idHi === undefined || id > context.idHi) context.idHi = id
}

function k2Check(
  layout: TapeLayout,
  context: RowCheckContext,
  name: (i: number | undefined) => string,
  amounts: (f: string[]) => RowProblem | undefined,
  micros: (f: string[], parse: (text: string) => number | string) => RowVerdict,
): RowCheck {
  const c = layout.columns
  const tradeId = c.tradeId!
  const symbol = context.symbolOverride === undefined ? c.symbol : undefined
  const exchange = context.exchangeOverride === undefined ? c.exchange : undefined
  const {side, sequence} = c
  return (f) => {
    const id = f[tradeId]
    if (id === '') return {field: name(tradeId), reason: 'is empty'}
    if (id.includes(STAGED_SEPARATOR) || id.includes('\n')) return {field: name(tradeId), reason: 'holds a control character'}
    const s = symbol === undefined ? undefined : normaliseSymbol(f[symbol])
    if (s !== undefined) {
      const reason = nameProblem(s, f[symbol!])
      if (reason) return {field: name(symbol), reason}
    }

    const e = exchange === undefined ? undefined : normaliseExchange(f[exchange])
    if (e !== undefined) {
      const reason = nameProblem(e, f[exchange!])
      if (reason) return {field: name(exchange), reason}
    }

    const problem = amounts(f)
    if (problem) return problem
    if (side !== undefined && f[side] !== '') {
      const s = f[side].toUpperCase()
      if (s !== 'BUY' && s !== 'SELL') return {field: name(side), reason: `expected BUY, SELL or nothing, got '${f[side]}'`}
    }

    if (sequence !== undefined && f[sequence] !== '') {
      const reason = bigintProblem(f[sequence])
      if (reason) return {field: name(sequence), reason}
    }

    const verdict = micros(f, contractMicros)
    if (typeof verdict === 'number') {
      noteIdRange(context, id)
      if (s !== undefined) context.symbols.note(s)
      if (e !== undefined) context.exchanges.note(e)
    }

    return verdict
  }
}
