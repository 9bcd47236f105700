import {describe, expect, it} from 'vitest'

import {UsageError} from '../../src/pipeline/errors.js'
import {formatMicros, formatMillis, nowMicros, parseDuration, parseInstant, parseIsoInstant} from '../../src/pipeline/time.js'

const NOW = Date.UTC(2024, 7, 10) * 1000

function usageError(run: () => unknown): UsageError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return error as UsageError
  }

  throw new Error('expected a usage error')
}

describe('instants outside the supported range', () => {
  it('a year before 1970 is refused, not read as another year (0001 would become 1901)', () => {
    for (const text of ['0001-01-01', '0099-12-31T00:00:00Z', '1900-01-01', '1969-12-31T23:59:59Z']) {
      const error = usageError(() => parseInstant(text, '--from', NOW))
      expect(error.message).toBe(`--from: '${text}' is outside the supported range 1970-01-01 … 2199-12-31 (UTC)`)
      expect(error.exit).toBe(2)
    }
  })

  it('a year past 2199 is refused (microseconds stay exact below 2^53)', () => {
    expect(usageError(() => parseInstant('2200-01-01', '--to', NOW)).message).toMatch(/^--to: '2200-01-01' is outside the supported range/)
    expect(usageError(() => parseInstant('9999-12-31', '--to', NOW)).code).toBe('time_out_of_range')
    expect(parseInstant('2199-12-31T23:59:59Z', '--to', NOW)).toBe(Date.UTC(2199, 11, 31, 23, 59, 59) * 1000)
  })

  it('an offset that moves an instant before the epoch is refused', () => {
    expect(usageError(() => parseIsoInstant('1970-01-01T00:30:00+01:00', '--from')).code).toBe('time_out_of_range')
    expect(parseIsoInstant('1970-01-01T00:00:00Z', '--from')).toBe(0)
  })

  it('a relative amount that overflows is refused at once (it ran out of heap)', () => {
    for (const text of ['-99999999999d', '-999999999999999999999w', '+200000d', '-19950d']) {
      expect(usageError(() => parseInstant(text, '--from', NOW)).message).toBe(`--from: '${text}' is outside the supported range 1970-01-01 … 2199-12-31 (UTC)`)
    }

    expect(parseInstant('-7d', '--from', NOW)).toBe(NOW - 7 * 86_400_000_000)
  })

  it('a duration longer than the range is refused', () => {
    expect(usageError(() => parseDuration('99999999999d', '--lookback')).message).toBe("--lookback: '99999999999d' is longer than the supported range 1970-01-01 … 2199-12-31")
    expect(parseDuration('30d', '--lookback')).toBe(30 * 86_400_000_000)
  })

  it('K2OPS_NOW is held to the same range', () => {
    expect(usageError(() => nowMicros({K2OPS_NOW: '0001-01-01'})).message).toMatch(/^K2OPS_NOW: '0001-01-01' is outside/)
  })
})

describe('the instant form of every --json', () => {
  it('whole seconds have no fraction; fractions have six digits', () => {
    expect(formatMillis(Date.UTC(2024, 7, 8, 23, 55))).toBe('2024-08-08T23:55:00Z')
    expect(formatMillis(Date.UTC(2024, 7, 8, 23, 55, 0, 123))).toBe('2024-08-08T23:55:00.123000Z')
    expect(formatMicros(Date.UTC(2024, 7, 8, 23, 55) * 1000 + 5)).toBe('2024-08-08T23:55:00.000005Z')
  })
})
