import {describe, expect, it} from 'vitest'

import type {CheckQueries} from '../../../src/pipeline/engine/check-queries.js'

import {DuckdbCheckQueries} from '../../../src/pipeline/engine/duckdb/check-queries/duckdb-check-queries.js'
import {TIMEFRAME_SPECS} from '../../../src/pipeline/timeframes.js'
import {insertCandle} from '../../helpers/candle-rows.js'
import {useTempDir} from '../../helpers/temp-home.js'
import {insertTrades, micros, openTestWarehouse} from '../../helpers/warehouse.js'

const CANDLES_KEPT = {'1m': '2024-01-01', '5m': '2024-01-01', '30m': '2024-01-01', '1h': '2024-01-01', '1d': '2024-01-01'} as const

/**
 * What every engine's CheckQueries returns for the same warehouse: plain rows (counts and instants as
 * numbers, decimals as exact text, evidence instants as ISO-8601 text), no engine values.
 */
describe('the checks’ queries on DuckDB', () => {
  const tempDir = useTempDir()

  async function withQueries(work: (queries: CheckQueries) => Promise<void>): Promise<void> {
    const warehouse = await openTestWarehouse(tempDir())
    try {
      await insertTrades(warehouse, [
        {id: '1', at: '2024-08-10T10:00:10Z', price: '60000', qty: '0.5'},
        {id: '2', at: '2024-08-10T10:00:20Z', price: '60010', qty: '1.5'},
        {id: '3', at: '2024-08-10T10:02:00Z', price: '60020', qty: '1'},
        {id: '3', at: '2024-08-10T10:02:00Z', price: '60020', qty: '1'},
        {id: '9', exchange: 'KRAKEN', symbol: 'BTCUSD', at: '2024-08-09T08:00:00Z', price: '-1', qty: '1'},
      ])
      // The 10:00 window has a candle whose counts do not match its trades (3 vs 2); 10:02 has none.
      await insertCandle(warehouse, '1m', {symbol: 'BTCUSDT', start: '2024-08-10T10:00:00Z'})
      await insertCandle(warehouse, '1m', {symbol: 'BTCUSDT', start: '2024-08-10T10:05:00Z'})
      await warehouse.run(`UPDATE ${TIMEFRAME_SPECS['1m'].table} SET high_price = 98 WHERE window_start = TIMESTAMP '2024-08-10 10:05:00'`)
      await work(new DuckdbCheckQueries(warehouse))
    } finally {
      warehouse.close()
    }
  }

  it('tells freshness, invariants and duplicate keys as plain rows', async () => {
    await withQueries(async (queries) => {
      const freshness = await queries.freshness(['1m', '5m'])
      expect([...freshness.exchanges].sort((a, b) => a.exchange.localeCompare(b.exchange))).toEqual([
        {exchange: 'BINANCE', newestMicros: micros('2024-08-10T10:02:00Z')},
        {exchange: 'KRAKEN', newestMicros: micros('2024-08-09T08:00:00Z')},
      ])
      expect(freshness.candles).toEqual([
        {timeframe: '1m', candles: 2, newestEndMicros: micros('2024-08-10T10:06:00Z')},
        {timeframe: '5m', candles: 0, newestEndMicros: null},
      ])

      const [invariants] = await queries.rowInvariants([{timeframe: '1m', fromMicros: micros('2024-08-10T00:00:00Z')}], 10)
      expect(invariants.candles).toBe(2)
      expect(invariants.broken.window_length).toEqual({total: 0, firstMicros: null, lastMicros: null, rows: []})
      expect(invariants.broken.ohlc_bounds).toMatchObject({total: 1, firstMicros: micros('2024-08-10T10:05:00Z'), lastMicros: micros('2024-08-10T10:05:00Z')})
      expect(invariants.broken.ohlc_bounds.rows).toEqual([
        expect.objectContaining({symbol: 'BTCUSDT', exchange: 'BINANCE', window_start: '2024-08-10T10:05:00Z', window_end: '2024-08-10T10:06:00Z', window_date: '2024-08-10', high_price: '98.00000000', trade_count: 3}),
      ])
      const [keys] = await queries.duplicateKeys([{timeframe: '1m', fromMicros: 0}], 10)
      expect(keys.duplicates).toEqual({total: 0, firstMicros: null, lastMicros: null, rows: []})
    })
  })

  it('tells windows without candles and candles that disagree with their trades', async () => {
    await withQueries(async (queries) => {
      const span = {timeframe: '1m' as const, fromMicros: micros('2024-08-10T10:00:00Z'), toMicros: micros('2024-08-10T10:10:00Z')}
      const [missing] = await queries.missingWindows([span], 10)
      // No flow ran: nothing is pending, the window is a gap.
      expect(missing).toEqual({
        timeframe: '1m',
        windows: 2,
        quiet: 1,
        total: 1,
        broken: 1,
        firstMicros: micros('2024-08-10T10:02:00Z'),
        lastMicros: micros('2024-08-10T10:02:00Z'),
        rows: [{symbol: 'BTCUSDT', exchange: 'BINANCE', window_start: '2024-08-10T10:02:00Z', trades: 2, pending: false}],
      })
      expect(await queries.oldestTrade()).toBe(micros('2024-08-09T08:00:00Z'))
      const [mismatches] = await queries.countMismatches([span], 1)
      expect(mismatches).toMatchObject({timeframe: '1m', candles: 2, total: 2, broken: 2, firstMicros: micros('2024-08-10T10:00:00Z'), lastMicros: micros('2024-08-10T10:05:00Z')})
      expect(mismatches.rows).toEqual([
        {symbol: 'BTCUSDT', exchange: 'BINANCE', window_start: '2024-08-10T10:00:00Z', trade_count: 3, source_count: 2, count_diff: 1, volume: '2.00000000', source_volume: '2.00000000', pending: false},
      ])
    })
  })

  it('tells corrupted and duplicate trades, volumes, and what a trades retention would delete', async () => {
    await withQueries(async (queries) => {
      const source = await queries.sourceTrades({idsSinceMicros: 0, fillsSinceMicros: 0, earliestMicros: 0, latestMicros: micros('2024-08-11T00:00:00Z'), limit: 10})
      expect(source).toMatchObject({trades: 5, tradesSinceIds: 5, tradesSinceFills: 5, badTimestamps: {total: 0, rows: []}})
      expect(source.badValues).toEqual({total: 1, rows: [expect.objectContaining({trade_id: '9', exchange: 'KRAKEN', timestamp: '2024-08-09T08:00:00Z', price: '-1.00000000'})]})
      expect(source.duplicateIds).toEqual({total: 1, extra: 1, rows: [{exchange: 'BINANCE', symbol: 'BTCUSDT', trade_id: '3', copies: 2}]})
      expect(source.duplicateFills.rows).toEqual([{timestamp: '2024-08-10T10:02:00Z', symbol: 'BTCUSDT', exchange: 'BINANCE', price: '60020.00000000', quantity: '1.00000000', copies: 2}])

      const now = micros('2024-08-10T10:30:00Z')
      const volumes = await queries.marketVolumes({dayFromMicros: now - 86_400_000_000, hourFromMicros: now - 3_600_000_000, throughMicros: now, limit: 1})
      // The KRAKEN trade is older than the day.
      expect(volumes).toMatchObject({markets: 1, tradesLastHour: 4, tradesLastDay: 4})
      expect(volumes.rows).toEqual([{symbol: 'BTCUSDT', exchange: 'BINANCE', trades_1h: 4, volume_1h: '4.00000000', trades_24h: 4, volume_24h: '4.00000000'}])

      const doomed = await queries.doomedTrades({cutoff: '2024-08-10', candlesKeptFrom: CANDLES_KEPT, uncheckedBefore: '2024-01-01', limit: 10})
      expect(doomed.trades).toBe(1)
      expect(doomed.windows.map((entry) => [entry.timeframe, entry.total])).toEqual([['1m', 1], ['5m', 1], ['30m', 1], ['1h', 1], ['1d', 1]])
      expect(doomed.windows[0].rows).toEqual([{symbol: 'BTCUSD', exchange: 'KRAKEN', window_start: '2024-08-09T08:00:00Z', trades: 1, candle_trades: null, volume: '1.00000000', candle_volume: null, missing: true}])
      expect(doomed.unchecked).toEqual({minutes: 0, markets: 0, rows: []})
    })
  })
})
