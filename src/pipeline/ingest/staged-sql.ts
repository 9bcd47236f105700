/**
 * Staged CSV rows → contract columns, in SQL. The staging table holds each accepted line as text
 * (`rec`, in file order, so `rowid` is the file order); the per-format SELECT below splits it and
 * casts the already validated text: DECIMAL casts of decimal text are exact.
 */
import {STAGED_SEPARATOR} from './row-parsers.js'
import {TapeLayout} from './tape-format.js'
import {binanceTimeMicrosSql, unixSecondsTextMicrosSql} from './time-text.js'

export interface StagedNames {
  /** Constant exchange/symbol for the whole file; undefined → read from the k2 columns. */
  exchange?: string
  symbol?: string
}

/** The columns every parsed-rows SELECT yields (rn is the order in the file). */
export const PARSED_COLUMNS = ['rn', 'trade_id', 'symbol', 'exchange', '"timestamp"', 'price', 'quantity', 'side', 'source_sequence'] as const

export function sqlLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

export function parsedRowsSql(layout: TapeLayout, stageTable: string, names: StagedNames): string {
  const c = layout.columns
  const f = (i: number | undefined): string => `f[${i! + 1}]`
  const separator = STAGED_SEPARATOR.charCodeAt(0)
  const split = `SELECT rowid AS rn, string_split(rec, CASE WHEN contains(rec, chr(${separator})) THEN chr(${separator}) ELSE ',' END) AS f FROM ${stageTable}`
  const price = `CAST(${f(c.price)} AS DECIMAL(18,8))`
  const quantity = `CAST(${f(c.qty)} AS DECIMAL(38,8))`
  const constant = (value: string | undefined, fallback: string): string => (value === undefined ? fallback : sqlLiteral(value))
  const symbol = constant(names.symbol, c.symbol === undefined ? 'NULL' : `upper(replace(replace(${f(c.symbol)}, '/', ''), '-', ''))`)
  const exchange = constant(names.exchange, c.exchange === undefined ? 'NULL' : `upper(${f(c.exchange)})`)
  const takerSide = `CASE WHEN lower(${f(c.buyerMaker)}) = 'true' THEN 'SELL' ELSE 'BUY' END`

  switch (layout.format) {
    case 'binance':
      return `SELECT rn, ${f(c.id)} AS trade_id, ${symbol} AS symbol, ${exchange} AS exchange,
        ${binanceTimeMicrosSql(f(c.time))} AS "timestamp", ${price} AS price, ${quantity} AS quantity,
        ${takerSide} AS side, CAST(${f(c.id)} AS BIGINT) AS source_sequence
      FROM (${split})`

    case 'binance-agg':
      return `SELECT rn, 'agg:' || ${f(c.aggId)} AS trade_id, ${symbol} AS symbol, ${exchange} AS exchange,
        ${binanceTimeMicrosSql(f(c.time))} AS "timestamp", ${price} AS price, ${quantity} AS quantity,
        ${takerSide} AS side, CAST(${f(c.firstId)} AS BIGINT) AS source_sequence
      FROM (${split})`

    case 'kraken':
      // No trade id: <µs>:<n-th row of that µs in the file, 6 digits>:<price text>:<volume text>.
      // Identical rows are separate fills and keep distinct ids; re-ingesting yields the same ids.
      return `SELECT rn,
        CAST("timestamp" AS VARCHAR) || ':' || printf('%06d', row_number() OVER (PARTITION BY "timestamp" ORDER BY rn) - 1)
          || ':' || ${f(c.price)} || ':' || ${f(c.qty)} AS trade_id,
        ${symbol} AS symbol, ${exchange} AS exchange, "timestamp", ${price} AS price, ${quantity} AS quantity,
        CAST(NULL AS VARCHAR) AS side, CAST(NULL AS BIGINT) AS source_sequence
      FROM (SELECT rn, f, ${unixSecondsTextMicrosSql(f(c.time))} AS "timestamp" FROM (${split}))`

    case 'k2': {
      const side = c.side === undefined ? 'CAST(NULL AS VARCHAR)' : `NULLIF(upper(${f(c.side)}), '')`
      const sequence = c.sequence === undefined ? 'CAST(NULL AS BIGINT)' : `CAST(NULLIF(${f(c.sequence)}, '') AS BIGINT)`
      return `SELECT rn, ${f(c.tradeId)} AS trade_id, ${symbol} AS symbol, ${exchange} AS exchange,
        CAST(${f(c.time)} AS BIGINT) AS "timestamp", ${price} AS price, ${quantity} AS quantity,
        ${side} AS side, ${sequence} AS source_sequence
      FROM (${split})`
    }
  }
}
