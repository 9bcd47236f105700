// Literals and names for the Spark SQL that k2ops writes. Values reach Spark only as literals made
// here (the driver takes statements, not parameters): strings quoted, integers checked.

/** A string literal: quotes and backslashes escaped as Spark's parser reads them. */
export function sqlString(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}

/** A BIGINT literal from an exact integer (µs instants, counts). */
export function sqlBigint(value: number): string {
  // Integers beyond 2^53 that a double holds exactly (END_OF_TIME, 2^62) print as their digits.
  if (!Number.isInteger(value)) throw new Error(`internal: ${value} is not an integer`)
  return `${BigInt(value)}L`
}

/** The TIMESTAMP of a µs instant: exact (the session time zone is UTC). */
export function sqlInstant(micros: number): string {
  return `timestamp_micros(${sqlBigint(micros)})`
}

/** A quoted identifier part (catalog, namespace, table). */
export function sqlName(part: string): string {
  return `\`${part.replaceAll('`', '``')}\``
}

/** ` AND alias.symbol = '…' AND alias.exchange = '…'`, as the market asks (nothing for none). */
export function marketSql(alias: string, market: {symbol?: string; exchange?: string} | undefined): string {
  return `${market?.symbol === undefined ? '' : ` AND ${alias}.symbol = ${sqlString(market.symbol)}`}${market?.exchange === undefined ? '' : ` AND ${alias}.exchange = ${sqlString(market.exchange)}`}`
}
