// Exact decimal arithmetic on the tables' decimal text, as integers of 10^-scale units: what the
// resampled candles and the trade-driven bars sum and divide without a float in between.

/** Decimal text of at most `scale` places → an integer of 10^-scale units. */
export function units(text: string, scale: number): bigint {
  const [whole, frac = ''] = text.split('.')
  return BigInt(whole + frac.padEnd(scale, '0').slice(0, scale))
}

/** Units back to decimal text with `scale` places, as the tables print them. */
export function decimal(value: bigint, scale: number): string {
  const digits = value.toString().padStart(scale + 1, '0')
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`
}

/** numerator / denominator rounded half away from zero (both positive). */
export function roundedQuotient(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator
  return (numerator % denominator) * 2n >= denominator ? quotient + 1n : quotient
}
