/**
 * Staged CSV rows → contract columns, in SQL. The staging table holds the accepted lines as text
 * (staging.ts); the per-format SELECT below splits each line into fields and casts the already
 * validated text: DECIMAL casts of decimal text are exact.
 */
import {STAGED_SEPARATOR} from '../../../ingest/row-parsers.js'
import {TapeLayout} from '../../../ingest/tape-format.js'
import {binanceTimeMicrosSql, unixSecondsTextMicrosSql} from './parser-sql.js'

export interface StagedNames {
  /** Constant exchange/symbol for the whole file; undefined → read from the k2 columns. */
  exchange?: string
  symbol?: string
}

/**
 * Validated quantity text → DECIMAL(38,8), exactly. Casting text to DECIMAL(38,8) parses a 128-bit
 * integer and costs about 4× the DECIMAL(18,8) cast, so values with at most 10 integer digits (all
 * but meme-coin sizes) go through DECIMAL(18,8) and are widened.
 */
export function quantitySql(text: string): string {
  const integerDigits = `(CASE WHEN strpos(${text}, '.') = 0 THEN length(${text}) ELSE strpos(${text}, '.') - 1 END)`
  return `(CASE WHEN ${integerDigits} <= 10 THEN CAST(CAST(${text} AS DECIMAL(18,8)) AS DECIMAL(38,8)) ELSE CAST(${text} AS DECIMAL(38,8)) END)`
}

export function sqlLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/** A row that is one exchange trade: covered_trades NULL (schema.ts COVERED_TRADES). */
export const ONE_TRADE = 'CAST(NULL AS BIGINT) AS covered_trades'

/**
 * The parsed rows: rn (file order), trade_id, symbol, exchange, "timestamp", price, quantity, side,
 * source_sequence, covered_trades (an aggTrade: last_trade_id − first_trade_id + 1). `linesSql` yields (rn, rec), one staged line per row. `rejoined`: some lines
 * had quotes and were staged with their fields joined by 0x1F rather than as read.
 */
export function parsedRowsSql(layout: TapeLayout, linesSql: string, names: StagedNames, rejoined = true): string {
  const separator = STAGED_SEPARATOR.charCodeAt(0)
  const by = rejoined ? `CASE WHEN contains(rec, chr(${separator})) THEN chr(${separator}) ELSE ',' END` : `','`
  return parsedFieldsSql(layout, `SELECT rn, string_split(rec, ${by}) AS f FROM (${linesSql})`, (i) => `f[${i + 1}]`, names)
}

/**
 * The same columns from `split`, any SELECT with `rn` and the row's fields, where `field(i)` is
 * the text of the 0-based column i (a list element of a split line, or a column of read_csv).
 * Kraken ids number the rows of one timestamp in file order; `ordered` says the rows come in
 * timestamp order, so that number is counted as the rows stream by instead of by a sort.
 */
export function parsedFieldsSql(layout: TapeLayout, split: string, field: (i: number) => string, names: StagedNames, ordered = false): string {
  const c = layout.columns
  const f = (i: number | undefined): string => field(i!)
  const price = `CAST(${f(c.price)} AS DECIMAL(18,8))`
  const quantity = quantitySql(f(c.qty))
  const constant = (value: string | undefined, fallback: string): string => (value === undefined ? fallback : sqlLiteral(value))
  const symbol = constant(names.symbol, c.symbol === undefined ? 'NULL' : `upper(replace(replace(${f(c.symbol)}, '/', ''), '-', ''))`)
  const exchange = constant(names.exchange, c.exchange === undefined ? 'NULL' : `upper(${f(c.exchange)})`)
  const takerSide = `CASE WHEN lower(${f(c.buyerMaker)}) = 'true' THEN 'SELL' ELSE 'BUY' END`

  switch (layout.format) {
    case 'binance':
      return `SELECT rn, ${f(c.id)} AS trade_id, ${symbol} AS symbol, ${exchange} AS exchange,
        ${binanceTimeMicrosSql(f(c.time))} AS "timestamp", ${price} AS price, ${quantity} AS quantity,
        ${takerSide} AS side, CAST(${f(c.id)} AS BIGINT) AS source_sequence, ${ONE_TRADE}
      FROM (${split})`

    case 'binance-agg':
      return `SELECT rn, 'agg:' || ${f(c.aggId)} AS trade_id, ${symbol} AS symbol, ${exchange} AS exchange,
        ${binanceTimeMicrosSql(f(c.time))} AS "timestamp", ${price} AS price, ${quantity} AS quantity,
        ${takerSide} AS side, CAST(${f(c.firstId)} AS BIGINT) AS source_sequence,
        CAST(${f(c.lastId)} AS BIGINT) - CAST(${f(c.firstId)} AS BIGINT) + 1 AS covered_trades
      FROM (${split})`

    case 'kraken':
      // No trade id: <µs>:<n-th row of that µs in the file, 6 digits>:<price text>:<volume text>.
      // Identical rows are separate fills and keep distinct ids; re-ingesting yields the same ids.
      return `SELECT rn,
        CAST("timestamp" AS VARCHAR) || ':' || printf('%06d', ${ordered ? 'rn - first_rn' : 'row_number() OVER (PARTITION BY "timestamp" ORDER BY rn) - 1'})
          || ':' || ${f(c.price)} || ':' || ${f(c.qty)} AS trade_id,
        ${symbol} AS symbol, ${exchange} AS exchange, "timestamp", ${price} AS price, ${quantity} AS quantity,
        CAST(NULL AS VARCHAR) AS side, CAST(NULL AS BIGINT) AS source_sequence, ${ONE_TRADE}
      FROM (${ordered ? firstOfTimestamp(`SELECT *, ${unixSecondsTextMicrosSql(f(c.time))} AS "timestamp" FROM (${split})`) : `SELECT *, ${unixSecondsTextMicrosSql(f(c.time))} AS "timestamp" FROM (${split})`})`

    case 'k2': {
      const side = c.side === undefined ? 'CAST(NULL AS VARCHAR)' : `NULLIF(upper(${f(c.side)}), '')`
      const sequence = c.sequence === undefined ? 'CAST(NULL AS BIGINT)' : `CAST(NULLIF(${f(c.sequence)}, '') AS BIGINT)`
      return `SELECT rn, ${f(c.tradeId)} AS trade_id, ${symbol} AS symbol, ${exchange} AS exchange,
        CAST(${f(c.time)} AS BIGINT) AS "timestamp", ${price} AS price, ${quantity} AS quantity,
        ${side} AS side, ${sequence} AS source_sequence, ${ONE_TRADE}
      FROM (${split})`
    }
  }
}

/** Adds `first_rn`, the rn of the first row of each row's timestamp, for rows in timestamp order (streaming windows). */
function firstOfTimestamp(rows: string): string {
  return `SELECT *, max(starts) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS first_rn
    FROM (SELECT *, CASE WHEN "timestamp" IS DISTINCT FROM lag("timestamp") OVER () THEN rn END AS starts FROM (${rows}))`
}
