import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {ReadCandle} from '../../src/pipeline/resample.js'

import {k2ops} from '../helpers/cli.js'
import {hasRealData, realFile} from '../helpers/real-data.js'
import {ReferenceTrade, canonical, referenceCandles} from '../helpers/reference-candles.js'

// Timeframes that are not stored (15m, 4h, 1w), read from every real tape's stored candles, against
// candles built straight from the tape's trades by an independent computation. (~30 s)

const NOW = '2030-01-01T00:00:00Z'
const MINUTE = 60_000_000n
/** 1970-01-05, a Monday: weeks start there. */
const MONDAY = 4n * 1440n * MINUTE

function csvRows(file: string, header: boolean): string[][] {
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => line.trim().split(','))
  return header ? rows.slice(1) : rows
}

const ms = (text: string) => BigInt(text) * 1000n
const seconds = (text: string) => {
  const [whole, frac = ''] = text.split('.')
  return BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, '0').slice(0, 6))
}

interface Tape {
  files: string[]
  flags: string[]
  symbol: string
  exchange: string
  range: [string, string]
  trades: () => ReferenceTrade[]
}

const SPOT = realFile('binance_spot_BTCUSDT_2024-08-08', 'BTCUSDT-spot-trades_2024-08-08T235415Z_2024-08-09T000505Z.csv')
const USDM = realFile('binance_usdm_BTCUSDT_2024-08-08', 'BTCUSDT-usdm-trades_2024-08-08T235416Z_2024-08-08T235959Z.csv')
const COINM = realFile('binance_cm_BTCUSD_PERP_2024-08-08', 'BTCUSD_PERP-cm-trades_2024-08-08T235417Z_2024-08-09T000504Z.csv')
const XRPETH = realFile('binance_spot_XRPETH_2019-10-11', 'XRPETH-aggTrades_2019-10-11T000011Z_2019-10-13T111928Z.csv')
const KRAKEN = ['kraken_BCHEUR_trades_part1.csv', 'kraken_BCHEUR_trades_part2_incremental.csv'].map((name) => realFile('kraken_BCHEUR_2023-01', name))
const AUGUST: [string, string] = ['2024-08-08T23:50:00Z', '2024-08-09T00:10:00Z']

const TAPES: Tape[] = [
  {files: [SPOT], flags: [], symbol: 'BTCUSDT', exchange: 'BINANCE', range: AUGUST, trades: () => csvRows(SPOT, true).map(([, price, qty, time]) => ({timeMicros: ms(time), price, qty}))},
  {files: [USDM], flags: ['--exchange', 'BINANCE_USDM'], symbol: 'BTCUSDT', exchange: 'BINANCE_USDM', range: AUGUST, trades: () => csvRows(USDM, true).map(([, price, qty, time]) => ({timeMicros: ms(time), price, qty}))},
  {
    files: [COINM],
    flags: ['--exchange', 'BINANCE_COINM'],
    symbol: 'BTCUSD_PERP',
    exchange: 'BINANCE_COINM',
    range: AUGUST,
    trades: () => csvRows(COINM, true).filter((row) => row[5] === 'MARKET').map(([, price, qty, time]) => ({timeMicros: ms(time), price, qty})),
  },
  {
    files: [XRPETH],
    flags: ['--symbol', 'XRPETH'],
    symbol: 'XRPETH',
    exchange: 'BINANCE',
    range: ['2019-10-11T00:00:00Z', '2019-10-13T11:20:00Z'],
    trades: () => csvRows(XRPETH, false).map(([, price, qty, first, last, time]) => ({timeMicros: ms(time), price, qty, covers: Number(last) - Number(first) + 1})),
  },
  {
    files: KRAKEN,
    flags: ['--format', 'kraken', '--symbol', 'BCHEUR'],
    symbol: 'BCHEUR',
    exchange: 'KRAKEN',
    range: ['2023-01-01T00:00:00Z', '2023-01-03T00:00:00Z'],
    trades: () => KRAKEN.flatMap((file) => csvRows(file, false)).map(([time, price, qty]) => ({timeMicros: seconds(time), price, qty})),
  },
]

const TIMEFRAMES: Array<[string, bigint, bigint]> = [
  ['15m', 15n * MINUTE, 0n],
  ['4h', 240n * MINUTE, 0n],
  ['1w', 7n * 1440n * MINUTE, MONDAY],
]

describe.skipIf(!hasRealData)('timeframes that are not stored, on the real tapes', () => {
  const home = join(mkdtempSync(join(tmpdir(), 'k2ops-resample-')), 'home')
  const cli = (args: string[]) => k2ops([...args, '--home', home], {K2OPS_NOW: NOW})

  beforeAll(async () => {
    for (const tape of TAPES) {
      const ingest = await cli(['ingest', ...tape.files, ...tape.flags, '--json'])
      expect(ingest.exitCode, ingest.stderr).toBe(0)
      const backfill = await cli(['backfill', '--timeframe', 'all', '--from', tape.range[0], '--to', tape.range[1], '--force'])
      expect(backfill.exitCode, backfill.stderr).toBe(0)
    }
  }, 120_000)

  afterAll(() => rmSync(join(home, '..'), {recursive: true, force: true}))

  for (const tape of TAPES) {
    it(`${tape.symbol} on ${tape.exchange}: 15m, 4h and 1w equal the candles built from the trades`, async () => {
      const trades = tape.trades()
      for (const [timeframe, size, offset] of TIMEFRAMES) {
        const shown = await cli(['candles', tape.symbol, '--exchange', tape.exchange, '--timeframe', timeframe, '--from', tape.range[0], '--to', tape.range[1], '--limit', '100000', '--json'])
        expect(shown.exitCode, shown.stderr).toBe(0)
        const reference = referenceCandles(trades, size, offset)
        const ours = shown.json.candles as ReadCandle[]
        expect(shown.json).toMatchObject({timeframe, builtFrom: {'15m': '5m', '4h': '1h', '1w': '1d'}[timeframe]})
        expect(ours.map((c) => BigInt(Date.parse(c.window_start)) * 1000n), timeframe).toEqual([...reference.keys()])
        for (const candle of ours) {
          const expected = reference.get(BigInt(Date.parse(candle.window_start)) * 1000n)!
          const where = `${timeframe} ${candle.window_start}`
          expect(BigInt(Date.parse(candle.window_end)) * 1000n - BigInt(Date.parse(candle.window_start)) * 1000n, where).toBe(size)
          expect([candle.open_price, candle.high_price, candle.low_price, candle.close_price, candle.volume, candle.vwap!].map(canonical), where).toEqual(
            [expected.open, expected.high, expected.low, expected.close, expected.volume, expected.vwap].map(canonical),
          )
          expect(Number(candle.trade_count), where).toBe(expected.count)
        }
      }
    })
  }
})
