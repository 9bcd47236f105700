import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import type {CandleRow} from '../../src/pipeline/engine/engine.js'

import {k2ops} from '../helpers/cli.js'
import {hasRealData, realFile} from '../helpers/real-data.js'
import {ReferenceTrade, canonical, referenceCandles} from '../helpers/reference-candles.js'
import {useTempDir} from '../helpers/temp-home.js'

const NOW = '2030-01-01T00:00:00Z'
const MINUTE = 60_000_000n

type ShownCandle = Omit<CandleRow, 'trade_count'> & {trade_count: number}

function csvRows(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => line.trim().split(','))
}

async function loadAndBuild(home: string, file: string, ingestFlags: string[], from: string, to: string, symbol: string, timeframe = '1m'): Promise<Map<bigint, ShownCandle>> {
  const ingest = await k2ops(['ingest', file, ...ingestFlags, '--home', home, '--json'], {K2OPS_NOW: NOW})
  expect(ingest.exitCode, ingest.stderr).toBe(0)
  // The clock is set past every window of the 2024 tapes, so past their retention too: --force builds them anyway.
  const backfill = await k2ops(['backfill', '--timeframe', timeframe, '--from', from, '--to', to, '--force', '--home', home], {K2OPS_NOW: NOW})
  expect(backfill.exitCode, backfill.stderr).toBe(0)
  const shown = await k2ops(['candles', symbol, '--timeframe', timeframe, '--from', from, '--to', to, '--limit', '100000', '--home', home, '--json'])
  expect(shown.exitCode, shown.stderr).toBe(0)
  return new Map(shown.json.candles.map((c: ShownCandle) => [BigInt(Date.parse(c.window_start.replace('.000000Z', 'Z'))) * 1000n, c]))
}

function expectSameCandle(actual: ShownCandle | undefined, expected: {open: string; high: string; low: string; close: string; volume: string; count: number | string}, where: string): void {
  expect(actual, where).toBeDefined()
  expect(
    {open: canonical(actual!.open_price), high: canonical(actual!.high_price), low: canonical(actual!.low_price), close: canonical(actual!.close_price), volume: canonical(actual!.volume), count: Number(actual!.trade_count)},
    where,
  ).toEqual({open: canonical(expected.open), high: canonical(expected.high), low: canonical(expected.low), close: canonical(expected.close), volume: canonical(expected.volume), count: Number(expected.count)})
}

describe.skipIf(!hasRealData)('candles from real exchange tapes', () => {
  const tempDir = useTempDir()

  it("equal Binance's official USD-M 1m klines for every complete minute", async () => {
    const dir = 'binance_usdm_BTCUSDT_2024-08-08'
    const candles = await loadAndBuild(tempDir(), realFile(dir, 'BTCUSDT-usdm-trades_2024-08-08T235416Z_2024-08-08T235959Z.csv'), ['--exchange', 'BINANCE_USDM'], '2024-08-08T23:50:00Z', '2024-08-09T00:10:00Z', 'BTCUSDT')
    const klines = csvRows(realFile(dir, 'BTCUSDT-usdm-klines-1m_2024-08-08T2350Z_2024-08-09T0010Z.csv')).slice(1)
    let compared = 0
    for (const [openTime, open, high, low, close, volume, , quoteVolume, count, takerBuyVolume, takerBuyQuoteVolume] of klines) {
      const start = BigInt(openTime) * 1000n
      // The tape covers 23:54:16 → 23:59:59.643: the complete minutes are 23:55 to 23:59.
      if (start < 1_723_161_300_000_000n || start > 1_723_161_540_000_000n) continue
      const where = `kline ${new Date(Number(openTime)).toISOString()}`
      expectSameCandle(candles.get(start), {open, high, low, close, volume, count}, where)
      // The other three of the kline's nine fields: quote volume and the taker-buy volumes.
      const ours = candles.get(start)!
      expect([ours.quote_volume, ours.taker_buy_volume, ours.taker_buy_quote_volume].map((value) => canonical(value ?? 'missing')), where).toEqual(
        [quoteVolume, takerBuyVolume, takerBuyQuoteVolume].map(canonical),
      )
      compared++
    }

    expect(compared).toBe(5)
    // Minutes outside the tape have no candle (the partial 23:54 minute has one, from its 1,751 trades).
    expect(candles.get(1_723_161_240_000_000n)?.trade_count).toBe(1751)
    expect(candles.has(1_723_161_600_000_000n)).toBe(false)
  })

  it('agree with an independent computation on the spot tape, in both of its layouts', async () => {
    const dir = 'binance_spot_BTCUSDT_2024-08-08'
    const rows = csvRows(realFile(dir, 'BTCUSDT-spot-trades_2024-08-08T235415Z_2024-08-09T000505Z.csv')).slice(1)
    const reference = referenceCandles(rows.map(([, price, qty, time]): ReferenceTrade => ({timeMicros: BigInt(time) * 1000n, price, qty})), MINUTE)
    for (const file of ['BTCUSDT-spot-trades_2024-08-08T235415Z_2024-08-09T000505Z.csv', 'BTCUSDT-spot-trades_2024-08-08T235415Z_2024-08-09T000505Z.binance-vision-layout.csv']) {
      const candles = await loadAndBuild(tempDir(), realFile(dir, file), [], '2024-08-08T23:54:00Z', '2024-08-09T00:06:00Z', 'BTCUSDT')
      expect(candles.size).toBe(reference.size)
      for (const [start, expected] of reference) expectSameCandle(candles.get(start), expected, `${file} ${start}`)
    }
  })

  it('agree with an independent computation on the COIN-M tape (quantities in contracts)', async () => {
    const rows = csvRows(realFile('binance_cm_BTCUSD_PERP_2024-08-08', 'BTCUSD_PERP-cm-trades_2024-08-08T235417Z_2024-08-09T000504Z.csv')).slice(1)
    const reference = referenceCandles(rows.filter((r) => r[5] === 'MARKET').map(([, price, qty, time]) => ({timeMicros: BigInt(time) * 1000n, price, qty})), 5n * MINUTE)
    const candles = await loadAndBuild(tempDir(), realFile('binance_cm_BTCUSD_PERP_2024-08-08', 'BTCUSD_PERP-cm-trades_2024-08-08T235417Z_2024-08-09T000504Z.csv'), ['--exchange', 'BINANCE_COINM'], '2024-08-08T23:50:00Z', '2024-08-09T00:10:00Z', 'BTCUSD_PERP', '5m')
    expect(candles.size).toBe(reference.size)
    for (const [start, expected] of reference) expectSameCandle(candles.get(start), expected, `5m ${start}`)
  })

  it('agree with an independent computation and with the reference candles on the XRPETH aggTrades tape', async () => {
    const dir = 'binance_spot_XRPETH_2019-10-11'
    const rows = csvRows(realFile(dir, 'XRPETH-aggTrades_2019-10-11T000011Z_2019-10-13T111928Z.csv'))
    // trade_count counts the raw trades each aggTrade stands for, as Binance's numberOfTrades does.
    const reference = referenceCandles(rows.map(([, price, qty, first, last, time]) => ({timeMicros: BigInt(time) * 1000n, price, qty, covers: Number(last) - Number(first) + 1})), MINUTE)
    expect([...reference.values()].reduce((sum, candle) => sum + candle.count, 0)).toBe(14_672)
    const candles = await loadAndBuild(tempDir(), realFile(dir, 'XRPETH-aggTrades_2019-10-11T000011Z_2019-10-13T111928Z.csv'), ['--symbol', 'XRPETH'], '2019-10-11T00:00:00Z', '2019-10-13T11:20:00Z', 'XRPETH')
    expect(candles.size).toBe(reference.size)
    for (const [start, expected] of reference) expectSameCandle(candles.get(start), expected, `1m ${start}`)
    // freqtrade's candles (float64) were built from the same trades: OHLCV agree within float precision.
    const freqtrade = csvRows(realFile(dir, 'XRPETH-1m-candles_freqtrade-derived-NOT-official.csv')).slice(1)
    expect(freqtrade.length).toBe(candles.size)
    for (const [openMs, open, high, low, close, volume] of freqtrade) {
      const ours = candles.get(BigInt(openMs) * 1000n)!
      expect([Number(ours.open_price), Number(ours.high_price), Number(ours.low_price), Number(ours.close_price)]).toEqual([Number(open), Number(high), Number(low), Number(close)])
      expect(Math.abs(Number(ours.volume) - Number(volume))).toBeLessThan(1e-6)
    }
  })

  it('agree with an independent computation on the Kraken tapes, identical rows kept as separate fills', async () => {
    const home = tempDir()
    const dir = 'kraken_BCHEUR_2023-01'
    const rows = [...csvRows(realFile(dir, 'kraken_BCHEUR_trades_part1.csv')), ...csvRows(realFile(dir, 'kraken_BCHEUR_trades_part2_incremental.csv'))]
    expect(rows).toHaveLength(148 + 486)
    const toMicros = (seconds: string) => {
      const [whole, frac = ''] = seconds.split('.')
      return BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, '0').slice(0, 6))
    }

    const reference = referenceCandles(rows.map(([time, price, qty]) => ({timeMicros: toMicros(time), price, qty})), 3_600_000_000n)
    const first = await k2ops(['ingest', realFile(dir, 'kraken_BCHEUR_trades_part1.csv'), '--format', 'kraken', '--symbol', 'BCHEUR', '--home', home, '--json'], {K2OPS_NOW: NOW})
    expect(first.json.inserted).toBe(148)
    const candles = await loadAndBuild(home, realFile(dir, 'kraken_BCHEUR_trades_part2_incremental.csv'), ['--format', 'kraken', '--symbol', 'BCHEUR'], '2023-01-01T00:00:00Z', '2023-01-03T00:00:00Z', 'BCHEUR', '1h')
    expect(candles.size).toBe(reference.size)
    for (const [start, expected] of reference) expectSameCandle(candles.get(start), expected, `1h ${start}`)
    const again = await k2ops(['ingest', realFile(dir, 'kraken_BCHEUR_trades_part1.csv'), realFile(dir, 'kraken_BCHEUR_trades_part2_incremental.csv'), '--format', 'kraken', '--symbol', 'BCHEUR', '--home', home, '--json'], {K2OPS_NOW: NOW})
    expect(again.json).toMatchObject({inserted: 0, duplicates: 634})
  })
})
