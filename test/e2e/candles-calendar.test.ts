import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {k2ops} from '../helpers/cli.js'

// Days as a London desk reads them: one trade at half past every hour around the two DST changes
// of 2024, and `candles --timeframe 1d --tz Europe/London` (and `--day-start`); and `--fill` of the
// half hours without a trade. (real processes, ~15 s)

const HOUR = 3_600_000
const NOW = '2030-01-01T00:00:00Z'
const SPANS: Array<[string, string]> = [
  ['2024-03-29T00:00:00Z', '2024-04-03T00:00:00Z'],
  ['2024-10-25T00:00:00Z', '2024-10-30T00:00:00Z'],
]

/** A k2 tape with one trade at hh:30 of every hour of the spans, its price the hour's number. */
function hourlyTape(file: string): void {
  const lines = ['trade_id,symbol,exchange,timestamp,price,quantity,side']
  let id = 0
  for (const [from, to] of SPANS) {
    for (let ms = Date.parse(from) + HOUR / 2; ms < Date.parse(to); ms += HOUR) lines.push(`${++id},LDNUSD,TEST,${ms * 1000},${100 + (id % 50)},1,BUY`)
  }

  writeFileSync(file, lines.join('\n') + '\n')
}

const hours = (c: {window_start: string; window_end: string}) => (Date.parse(c.window_end) - Date.parse(c.window_start)) / HOUR

describe('candles --tz, --day-start and --fill', () => {
  // One home for the file: made once, removed at the end.
  const dir = mkdtempSync(join(tmpdir(), 'k2ops-calendar-'))
  const home = join(dir, 'home')
  const cli = (args: string[]) => k2ops([...args, '--home', home, '--json'], {K2OPS_NOW: NOW})

  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  beforeAll(async () => {
    const tape = join(dir, 'LDNUSD-trades.csv')
    hourlyTape(tape)
    expect((await cli(['ingest', tape])).exitCode).toBe(0)
    for (const [from, to] of SPANS) expect((await cli(['backfill', '--timeframe', 'all', '--from', from, '--to', to, '--force'])).exitCode).toBe(0)
  }, 60_000)

  it('London days across the DST changes: 23 hours on 31 March, 25 hours on 27 October, each with its trades', async () => {
    const spring = await cli(['candles', 'LDNUSD', '--timeframe', '1d', '--tz', 'Europe/London', '--from', '2024-03-29', '--to', '2024-04-02'])
    expect(spring.exitCode, spring.stderr).toBe(0)
    expect(spring.json).toMatchObject({timeframe: '1d', builtFrom: '1h'})
    expect(spring.json.candles.map((c: {window_start: string; window_end: string; trade_count: string}) => [c.window_start, hours(c), Number(c.trade_count)])).toEqual([
      ['2024-03-29T00:00:00Z', 24, 24],
      ['2024-03-30T00:00:00Z', 24, 24],
      ['2024-03-31T00:00:00Z', 23, 23],
      ['2024-03-31T23:00:00Z', 24, 24],
      // --to 2024-04-02T00:00Z falls in the London day of 2 April: whole windows are shown.
      ['2024-04-01T23:00:00Z', 24, 24],
    ])
    const autumn = await cli(['candles', 'LDNUSD', '--timeframe', '1d', '--tz', 'Europe/London', '--from', '2024-10-26', '--to', '2024-10-29'])
    expect(autumn.json.candles.map((c: {window_start: string; window_end: string; trade_count: string}) => [c.window_start, hours(c), Number(c.trade_count)])).toEqual([
      ['2024-10-25T23:00:00Z', 24, 24],
      ['2024-10-26T23:00:00Z', 25, 25],
      ['2024-10-28T00:00:00Z', 24, 24],
    ])
  })

  it('--day-start moves the boundary to that local time; UTC days are the stored ones', async () => {
    const shifted = await cli(['candles', 'LDNUSD', '--timeframe', '1d', '--tz', 'Europe/London', '--day-start', '08:00', '--from', '2024-10-26T12:00:00Z', '--to', '2024-10-28T12:00:00Z'])
    expect(shifted.exitCode, shifted.stderr).toBe(0)
    // 08:00 BST on the 26th is 07:00Z; the clocks go back at 01:00Z on the 27th, so its 08:00 is 08:00Z:
    // the day from the 26th's 08:00 to the 27th's is 25 hours.
    expect(shifted.json.candles.map((c: {window_start: string; window_end: string}) => [c.window_start, hours(c)])).toEqual([
      ['2024-10-26T07:00:00Z', 25],
      ['2024-10-27T08:00:00Z', 24],
      ['2024-10-28T08:00:00Z', 24],
    ])
    const utc = await cli(['candles', 'LDNUSD', '--timeframe', '1d', '--day-start', '00:00', '--from', '2024-10-27', '--to', '2024-10-28'])
    const stored = await cli(['candles', 'LDNUSD', '--timeframe', '1d', '--from', '2024-10-27', '--to', '2024-10-28'])
    expect(utc.json.candles.map((c: {vwap: string}) => ({...c}))).toEqual(stored.json.candles)
  })

  it('--fill previous: flat candles at the previous close, marked filled, and the traded ones as they were; --fill null: rows of nulls', async () => {
    const range = ['LDNUSD', '--timeframe', '30m', '--from', '2024-03-29T00:00:00Z', '--to', '2024-03-29T03:00:00Z']
    const traded = (await cli(['candles', ...range])).json.candles
    // A trade at every hh:30: the 30m windows at hh:00 have none.
    expect(traded.map((c: {window_start: string}) => c.window_start)).toEqual(['2024-03-29T00:30:00Z', '2024-03-29T01:30:00Z', '2024-03-29T02:30:00Z'])
    const previous = await cli(['candles', ...range, '--fill', 'previous'])
    expect(previous.exitCode, previous.stderr).toBe(0)
    const rows = previous.json.candles as Array<Record<string, string | boolean | null>>
    // The window before the first trade has no previous close: it is not filled.
    expect(rows.map((c) => [c.window_start, c.filled])).toEqual([
      ['2024-03-29T00:30:00Z', false],
      ['2024-03-29T01:00:00Z', true],
      ['2024-03-29T01:30:00Z', false],
      ['2024-03-29T02:00:00Z', true],
      ['2024-03-29T02:30:00Z', false],
    ])
    expect(rows.filter((c) => !c.filled)).toEqual(traded.map((c: object) => ({...c, filled: false})))
    for (const [index, row] of rows.entries()) {
      if (!row.filled) continue
      const close = rows[index - 1].close_price
      expect(row, String(row.window_start)).toMatchObject({open_price: close, high_price: close, low_price: close, close_price: close, volume: '0.00000000', trade_count: 0, vwap: null})
    }

    const nulls = (await cli(['candles', ...range, '--fill', 'null'])).json.candles as Array<Record<string, string | boolean | null>>
    expect(nulls[1]).toMatchObject({window_start: '2024-03-29T01:00:00Z', window_end: '2024-03-29T01:30:00Z', open_price: null, close_price: null, volume: null, trade_count: null, filled: true})
    const text = await k2ops(['candles', ...range, '--fill', 'previous', '--home', home], {K2OPS_NOW: NOW})
    expect(text.stdout).toMatch(/FILLED\n/)
    expect(text.stdout).toMatch(/2024-03-29T01:00:00Z .* filled\n/)
  })

  it('a bad zone, a bad day start, or --tz on an intraday timeframe: exit 2 naming the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--timeframe', '1d', '--tz', 'Europe/Londres'], /^k2ops: --tz: 'Europe\/Londres' is not an IANA time zone/],
      [['--timeframe', '1d', '--day-start', '25:00'], /^k2ops: --day-start: '25:00' is not a time of day \(HH:MM/],
      [['--timeframe', '4h', '--tz', 'Europe/London'], /^k2ops: --tz and --day-start apply to 1d, 1w and 1M, not to --timeframe 4h/],
    ]
    for (const [args, message] of cases) {
      const result = await k2ops(['candles', 'LDNUSD', ...args, '--home', home], {K2OPS_NOW: NOW})
      expect(result.exitCode, args.join(' ')).toBe(2)
      expect(result.stderr.split('\n')[0], args.join(' ')).toMatch(message)
    }
  })
})
