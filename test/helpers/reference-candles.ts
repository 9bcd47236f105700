/**
 * A straightforward, independent candle computation for tests: exact decimal arithmetic on the
 * tape's own text (scaled BigInt), trades in file order within a timestamp.
 */
export interface ReferenceTrade {
  timeMicros: bigint
  price: string
  qty: string
  /** The exchange trades it stands for (an aggTrade: last − first + 1); default 1. */
  covers?: number
}

export interface ReferenceCandle {
  start: bigint
  open: string
  high: string
  low: string
  close: string
  volume: string
  count: number
  /** Σ price·qty / Σ qty, rounded half away from zero to 8 places. */
  vwap: string
}

const SCALE = 10n ** 8n

export function toUnits(text: string): bigint {
  const [whole, frac = ''] = text.trim().split('.')
  return BigInt(whole) * SCALE + BigInt(frac.padEnd(8, '0').slice(0, 8))
}

/** Decimal text without trailing zeros: `61756.70000000` and `61756.7` compare equal. */
export function canonical(text: string): string {
  const [whole, frac = ''] = text.trim().split('.')
  const digits = frac.replace(/0+$/, '')
  return `${BigInt(whole)}${digits ? `.${digits}` : ''}`
}

function fromUnits(units: bigint): string {
  const whole = units / SCALE
  const frac = (units % SCALE).toString().padStart(8, '0').replace(/0+$/, '')
  return frac ? `${whole}.${frac}` : `${whole}`
}

/** Candles of `windowMicros` windows (starting at multiples of it after `offsetMicros`: weeks start on a Monday). */
export function referenceCandles(trades: ReferenceTrade[], windowMicros: bigint, offsetMicros = 0n): Map<bigint, ReferenceCandle> {
  const sorted = trades.map((t, i) => ({...t, i})).sort((a, b) => (a.timeMicros === b.timeMicros ? a.i - b.i : a.timeMicros < b.timeMicros ? -1 : 1))
  const out = new Map<bigint, {open: bigint; high: bigint; low: bigint; close: bigint; volume: bigint; count: number; start: bigint; quote: bigint}>()
  for (const t of sorted) {
    const shifted = t.timeMicros - offsetMicros
    const start = shifted - (((shifted % windowMicros) + windowMicros) % windowMicros) + offsetMicros
    const price = toUnits(t.price)
    const qty = toUnits(t.qty)
    const c = out.get(start)
    if (c) {
      c.high = price > c.high ? price : c.high
      c.low = price < c.low ? price : c.low
      c.close = price
      c.volume += qty
      c.quote += price * qty
      c.count += t.covers ?? 1
    } else {
      out.set(start, {start, open: price, high: price, low: price, close: price, volume: qty, quote: price * qty, count: t.covers ?? 1})
    }
  }

  return new Map(
    [...out].map(([k, c]) => [k, {start: c.start, open: fromUnits(c.open), high: fromUnits(c.high), low: fromUnits(c.low), close: fromUnits(c.close), volume: fromUnits(c.volume), count: c.count, vwap: fromUnits(c.quote / c.volume + ((c.quote % c.volume) * 2n >= c.volume ? 1n : 0n))}]),
  )
}
