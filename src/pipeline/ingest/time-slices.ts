/**
 * A large tape is stored in timestamp slices of a bounded number of rows (store-trades.ts): every
 * statement then sorts, deduplicates and anti-joins one slice, so memory does not grow with the
 * tape. Slices are cut from a histogram of the timestamps and never split a timestamp, so the
 * rows of one trade (which share it) always meet in one slice.
 */

/** Row counts per bucket: bucket k holds the timestamps origin + k·width … origin + (k+1)·width − 1. */
export interface TimeHistogram {
  origin: number
  width: number
  counts: Map<number, number>
}

export interface TimeSlice {
  /** Timestamp range (µs, inclusive) holding every row of the slice. */
  lo: number
  hi: number
  rows: number
}

/** Buckets the histograms keep at most; a slice is cut at bucket edges. */
export const HISTOGRAM_BUCKETS = 65_536

/**
 * A histogram filled row by row (the CSV path, in JS): the width starts at about a second (2^20 µs;
 * no exchange trades half a million times in one second, and a slice is at least 50,000 rows) and
 * doubles whenever there are more than HISTOGRAM_BUCKETS distinct buckets. Consecutive rows in one
 * bucket (a tape in time order) cost a division and a comparison.
 */
export class GrowingTimeHistogram {
  private readonly counts = new Map<number, number>()
  private width = 2 ** 20
  /** Keys count from the first row's timestamp: small integers, which Map hashes fastest. */
  private origin = Number.NaN
  private runKey = Number.NaN
  private runCount = 0

  add(micros: number): void {
    if (Number.isNaN(this.origin)) this.origin = micros
    const key = Math.floor((micros - this.origin) / this.width)
    if (key === this.runKey) {
      this.runCount++
      return
    }

    this.flushRun()
    this.runKey = key
    this.runCount = 1
  }

  result(): TimeHistogram {
    this.flushRun()
    return {origin: Number.isNaN(this.origin) ? 0 : this.origin, width: this.width, counts: new Map(this.counts)}
  }

  private flushRun(): void {
    if (this.runCount === 0) return
    this.counts.set(this.runKey, (this.counts.get(this.runKey) ?? 0) + this.runCount)
    this.runCount = 0
    this.runKey = Number.NaN
    while (this.counts.size > HISTOGRAM_BUCKETS) this.coarsen()
  }

  private coarsen(): void {
    const old = [...this.counts]
    this.counts.clear()
    this.width *= 2
    for (const [key, count] of old) {
      const coarse = Math.floor(key / 2)
      this.counts.set(coarse, (this.counts.get(coarse) ?? 0) + count)
    }
  }
}

/**
 * Consecutive buckets grouped into slices of at most `sliceRows` rows (a single bucket holding
 * more is a slice of its own), clipped to [lo, hi], in time order.
 */
export function timeSlices(histogram: TimeHistogram, lo: number, hi: number, sliceRows: number): TimeSlice[] {
  const {origin, width, counts} = histogram
  const keys = [...counts.keys()].sort((a, b) => a - b)
  const slices: TimeSlice[] = []
  let current: TimeSlice | undefined
  for (const key of keys) {
    const rows = counts.get(key)!
    if (rows === 0) continue
    if (current && current.rows + rows > sliceRows) {
      slices.push(current)
      current = undefined
    }

    const bucketLo = origin + key * width
    current ??= {lo: Math.max(lo, bucketLo), hi: 0, rows: 0}
    current.hi = Math.min(hi, bucketLo + width - 1)
    current.rows += rows
  }

  if (current) slices.push(current)
  return slices
}
