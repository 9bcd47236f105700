import {describe, expect, it} from 'vitest'

import type {Engine} from '../../src/pipeline/engine/engine.js'
import type {Timeframe} from '../../src/pipeline/timeframes.js'
import type {StoredCandle, TestTrade} from '../helpers/warehouse.js'

import {planBackfill} from '../../src/pipeline/backfill.js'
import {buildBars, parseBarRule} from '../../src/pipeline/bars.js'
import {runFlowWindows} from '../../src/pipeline/flow-run.js'
import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {useTempDir} from '../helpers/temp-home.js'
import {micros} from '../helpers/warehouse.js'

/**
 * What the candle semantics suite needs of an engine besides the seam itself: a fresh engine, and
 * direct access to its tables where a feed or a broken warehouse would write. Every helper should be
 * one call to the engine: on Spark each costs about a second.
 */
export interface EngineFactory {
  name: string
  /** A fresh engine with the schema, keeping its data under `dir`. */
  open(dir: string): Promise<Engine>
  /** Stores trades straight into the trades table (no ingest), each with its ingestion_timestamp (default `defaultIngestedAt`). */
  ingestRows(engine: Engine, trades: TestTrade[], defaultIngestedAt?: number): Promise<void>
  /**
   * Every stored candle of a timeframe in key order, values as exact text; instants as
   * `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC), window_date as `YYYY-MM-DD`.
   */
  storedCandles(engine: Engine, tf: Timeframe): Promise<StoredCandle[]>
  /** Deletes every stored trade. */
  deleteTrades(engine: Engine): Promise<void>
}

const NOW = micros('2024-08-09T00:02:30Z')

/** The candle semantics of DESIGN.md, on the engine `factory` opens. */
export function candleSemanticsSuite(factory: EngineFactory): void {
  const candles = (engine: Engine, tf: Timeframe) => factory.storedCandles(engine, tf)
  const candleValues = async (engine: Engine, tf: Timeframe) => (await candles(engine, tf)).map(({created_at: _c, updated_at: _u, ...rest}) => rest)
  const insertTrades = (engine: Engine, trades: TestTrade[], defaultIngestedAt?: number) => factory.ingestRows(engine, trades, defaultIngestedAt)

  async function withTestEngine(dir: string, work: (w: Engine) => Promise<void>): Promise<void> {
    const engine = await factory.open(dir)
    try {
      await work(engine)
    } finally {
      await engine.close()
    }
  }

  /** A backfill of every timeframe over [from, to): one unit of work. */
  async function backfillAll(engine: Engine, from: string, to: string, now = NOW): Promise<void> {
    await engine.replaceRanges(planBackfill([...TIMEFRAMES], micros(from), micros(to), now).ranges, {nowMicros: now})
  }

  describe(`candle semantics (${factory.name})`, () => {
    const tempDir = useTempDir()

    it('orders ties in the same microsecond by source_sequence, then trade_id', async () => {
      await withTestEngine(tempDir(), async (w) => {
        await insertTrades(w, [
          {id: '12', at: '2024-08-08T23:55:00.000001Z', price: '101', qty: '1', seq: 12},
          {id: '11', at: '2024-08-08T23:55:00.000001Z', price: '100', qty: '1', seq: 11},
          {id: '13', at: '2024-08-08T23:55:59.999999Z', price: '103', qty: '1', seq: 13},
          {id: '14', at: '2024-08-08T23:55:59.999999Z', price: '104', qty: '1', seq: 14},
          // No sequence: trade_id decides, and they sort after sequenced trades of the same µs.
          {id: 'b', symbol: 'KR', exchange: 'KRAKEN', at: '2024-08-08T23:56:00Z', price: '7', qty: '1', seq: null},
          {id: 'a', symbol: 'KR', exchange: 'KRAKEN', at: '2024-08-08T23:56:00Z', price: '6', qty: '1', seq: null},
          {id: 'c', symbol: 'KR', exchange: 'KRAKEN', at: '2024-08-08T23:56:00Z', price: '8', qty: '1', seq: null},
        ])
        await backfillAll(w, '2024-08-08T23:00:00Z', '2024-08-09T00:00:00Z')
        const [btc] = (await candles(w, '1m')).filter((c) => c.symbol === 'BTCUSDT')
        expect(btc).toMatchObject({open_price: '100.00000000', close_price: '104.00000000', high_price: '104.00000000', low_price: '100.00000000', trade_count: '4'})
        const [kr] = (await candles(w, '1m')).filter((c) => c.symbol === 'KR')
        expect(kr).toMatchObject({open_price: '6.00000000', close_price: '8.00000000'})
      })
    })

    it('keeps microseconds: a trade at 23:55:59.999999 is in the 23:55 window, one at 23:56:00.000000 is not', async () => {
      await withTestEngine(tempDir(), async (w) => {
        await insertTrades(w, [
          {id: '1', at: '2024-08-08T23:55:59.999999Z', price: '10', qty: '1'},
          {id: '2', at: '2024-08-08T23:56:00.000000Z', price: '20', qty: '1'},
        ])
        await backfillAll(w, '2024-08-08T23:00:00Z', '2024-08-09T00:00:00Z')
        const rows = await candles(w, '1m')
        expect(rows.map((c) => [c.window_start, c.window_end, c.close_price])).toEqual([
          ['2024-08-08 23:55:00', '2024-08-08 23:56:00', '10.00000000'],
          ['2024-08-08 23:56:00', '2024-08-08 23:57:00', '20.00000000'],
        ])
        expect(rows[0].window_date).toBe('2024-08-08')
      })
    })

    it('computes vwap exactly and rounds half away from zero to 8 places', async () => {
      await withTestEngine(tempDir(), async (w) => {
        await insertTrades(w, [
          {id: '1', at: '2024-08-08T23:55:01Z', price: '1.00000001', qty: '1'},
          {id: '2', at: '2024-08-08T23:55:02Z', price: '1.00000002', qty: '1'},
          {id: '3', at: '2024-08-08T23:57:01Z', price: '61756.7', qty: '0.003'},
          {id: '4', at: '2024-08-08T23:57:02Z', price: '61756.8', qty: '0.007'},
          {id: '5', at: '2024-08-08T23:57:03Z', price: '61756.9', qty: '0.011'},
        ])
        await backfillAll(w, '2024-08-08T23:00:00Z', '2024-08-09T00:00:00Z')
        const rows = await candles(w, '1m')
        // (1.00000001 + 1.00000002) / 2 = 1.000000015 → 1.00000002
        expect(rows[0].vwap).toBe('1.00000002')
        // Σpq = 1296.9251 + ... computed by hand: (61756.7*3 + 61756.8*7 + 61756.9*11) / 21
        expect(rows[1].vwap).toBe('61756.83809524')
        expect(rows[1].volume).toBe('0.02100000')
      })
    })

    it('gives the kline fields: quote volume Σ price·quantity exact, taker-buy volumes over the BUY trades, none where no trade has a side', async () => {
      await withTestEngine(tempDir(), async (w) => {
        await insertTrades(w, [
          {id: '1', at: '2024-08-08T23:55:01Z', price: '61756.70', qty: '0.003', side: 'BUY'},
          {id: '2', at: '2024-08-08T23:55:02Z', price: '61756.80', qty: '0.007', side: 'SELL'},
          {id: '3', at: '2024-08-08T23:55:03Z', price: '0.12345678', qty: '0.87654321', side: 'BUY'},
          {id: '4', at: '2024-08-08T23:56:01Z', price: '10', qty: '2', side: 'SELL'},
          {id: '5', symbol: 'BCHEUR', exchange: 'KRAKEN', at: '2024-08-08T23:55:01Z', price: '100.5', qty: '3', side: null},
        ])
        await backfillAll(w, '2024-08-08T23:00:00Z', '2024-08-09T00:00:00Z')
        const kline = (c: StoredCandle) => [c.window_start, c.quote_volume, c.taker_buy_volume, c.taker_buy_quote_volume]
        // 185.2701 + 432.2976 + 0.1082152022374638 (16 places, nothing rounded); BUY: trades 1 and 3.
        // In key order: BCHEUR (Kraken, no sides) before BTCUSDT.
        expect((await candles(w, '1m')).map(kline)).toEqual([
          ['2024-08-08 23:55:00', '301.5000000000000000', null, null],
          ['2024-08-08 23:55:00', '617.6759152022374638', '0.87954321', '185.3783152022374638'],
          ['2024-08-08 23:56:00', '20.0000000000000000', '0.00000000', '0.0000000000000000'],
        ])
        expect((await candles(w, '1h')).map(kline)).toEqual([
          ['2024-08-08 23:00:00', '301.5000000000000000', null, null],
          ['2024-08-08 23:00:00', '637.6759152022374638', '0.87954321', '185.3783152022374638'],
        ])
      })
    })

    it('builds tick, volume and dollar bars from the trades in candle order, ties by source_sequence then trade_id, per exchange', async () => {
      await withTestEngine(tempDir(), async (w) => {
        await insertTrades(w, [
          {id: '12', at: '2024-08-08T23:55:00.000001Z', price: '101', qty: '1', seq: 12},
          {id: '11', at: '2024-08-08T23:55:00.000001Z', price: '100', qty: '2', seq: 11},
          {id: '13', at: '2024-08-08T23:55:01Z', price: '102', qty: '1.5', seq: 13},
          {id: '14', at: '2024-08-08T23:55:02Z', price: '99', qty: '0.5', seq: 14},
          {id: '15', at: '2024-08-08T23:55:03Z', price: '103', qty: '3', seq: 15},
          // No sequence: trade_id decides.
          {id: 'b', exchange: 'KRAKEN', at: '2024-08-08T23:56:00Z', price: '7', qty: '1', seq: null},
          {id: 'a', exchange: 'KRAKEN', at: '2024-08-08T23:56:00Z', price: '6', qty: '1', seq: null},
          {id: 'c', exchange: 'KRAKEN', at: '2024-08-08T23:56:00Z', price: '8', qty: '1', seq: null},
        ])
        const trades = await w.readTrades({symbol: 'BTCUSDT', fromMicros: micros('2024-08-08T23:00:00Z'), toMicros: micros('2024-08-09T00:00:00Z'), limit: 100})
        const bars = (rule: string) =>
          buildBars(trades, parseBarRule(rule)).map((b) => [b.exchange, b.bar_start.slice(11), b.open_price, b.high_price, b.low_price, b.close_price, b.volume, b.trade_count, b.vwap, b.complete])
        // (100·2 + 101·1) / 3 = 100.333… ; (102·1.5 + 99·0.5) / 2 = 101.25
        expect(bars('ticks:2')).toEqual([
          ['BINANCE', '23:55:00.000001Z', '100.00000000', '101.00000000', '100.00000000', '101.00000000', '3.00000000', 2, '100.33333333', true],
          ['BINANCE', '23:55:01Z', '102.00000000', '102.00000000', '99.00000000', '99.00000000', '2.00000000', 2, '101.25000000', true],
          ['BINANCE', '23:55:03Z', '103.00000000', '103.00000000', '103.00000000', '103.00000000', '3.00000000', 1, '103.00000000', false],
          ['KRAKEN', '23:56:00Z', '6.00000000', '7.00000000', '6.00000000', '7.00000000', '2.00000000', 2, '6.50000000', true],
          ['KRAKEN', '23:56:00Z', '8.00000000', '8.00000000', '8.00000000', '8.00000000', '1.00000000', 1, '8.00000000', false],
        ])
        // Volume 3: the second trade brings the first bar to 3; then 1.5 + 0.5 + 3 = 5 crosses it.
        expect(bars('volume:3').map((b) => [b[0], b[2], b[5], b[6], b[9]])).toEqual([
          ['BINANCE', '100.00000000', '101.00000000', '3.00000000', true],
          ['BINANCE', '102.00000000', '103.00000000', '5.00000000', true],
          ['KRAKEN', '6.00000000', '8.00000000', '3.00000000', true],
        ])
        // Notional 300: 200 + 101 = 301; then 153 + 49.5 + 309 = 511.5; Kraken's 21 stays open.
        expect(bars('dollar:300').map((b) => [b[0], b[7], b[9]])).toEqual([
          ['BINANCE', 2, true],
          ['BINANCE', 3, true],
          ['KRAKEN', 3, false],
        ])
      })
    })

    it('holds meme-coin quantities of 1e12 per trade without overflow', async () => {
      await withTestEngine(tempDir(), async (w) => {
        await insertTrades(w, [
          {id: '1', symbol: 'PEPEUSDT', at: '2024-08-08T23:55:01Z', price: '0.00000851', qty: '1000000000000'},
          {id: '2', symbol: 'PEPEUSDT', at: '2024-08-08T23:55:02Z', price: '0.00000853', qty: '3000000000000.5'},
          {id: '3', at: '2024-08-08T23:55:03Z', price: '61756.70', qty: '1000000000000'},
        ])
        await backfillAll(w, '2024-08-08T00:00:00Z', '2024-08-09T00:00:00Z')
        for (const tf of TIMEFRAMES) {
          const [btc, pepe] = await candles(w, tf)
          expect(pepe).toMatchObject({volume: '4000000000000.50000000', vwap: '0.00000853', trade_count: '2'})
          expect(btc).toMatchObject({volume: '1000000000000.00000000', vwap: '61756.70000000'})
        }
      })
    })

    it('gives identical candles when a flow or a backfill runs twice', async () => {
      await withTestEngine(tempDir(), async (w) => {
        const trades = Array.from({length: 150}, (_, i) => ({id: String(i + 1), at: micros('2024-08-08T22:00:00Z') + i * 41_000_000, price: String(100 + (i % 17)), qty: `0.${String(i % 9) + 1}`}))
        await insertTrades(w, trades)
        const once = []
        for (const tf of TIMEFRAMES) {
          await runFlowWindows(w, tf, {nowMicros: NOW, lookbackMicros: 2 * 3_600_000_000})
          once.push(await candleValues(w, tf))
        }

        for (const tf of TIMEFRAMES) await runFlowWindows(w, tf, {nowMicros: NOW, lookbackMicros: 2 * 3_600_000_000})
        await backfillAll(w, '2024-08-08T00:00:00Z', '2024-08-09T00:00:00Z')
        await backfillAll(w, '2024-08-08T00:00:00Z', '2024-08-09T00:00:00Z')
        for (const [i, tf] of TIMEFRAMES.entries()) expect(await candleValues(w, tf)).toEqual(once[i])
        expect((await candles(w, '1m')).reduce((sum, c) => sum + Number(c.trade_count), 0)).toBe(150)
      })
    })

    it('brings a late trade, older than every lookback, into all five timeframes on the next run', async () => {
      await withTestEngine(tempDir(), async (w) => {
        // The tape runs four hours past now: trades in windows not closed must not hold back the rest.
        const start = micros('2024-08-05T00:00:00Z')
        await insertTrades(w, Array.from({length: 200}, (_, i) => ({id: String(i + 1), at: start + i * 1_800_000_000, price: '100', qty: '1'})), 1000)
        for (const tf of TIMEFRAMES) await runFlowWindows(w, tf, {nowMicros: NOW, lookbackMicros: TIMEFRAME_SPECS[tf].lookbackMicros})
        const before = await Promise.all(TIMEFRAMES.map((tf) => candles(w, tf)))
        // Four days old, ingested after every flow ran.
        await insertTrades(w, [{id: '9999', at: '2024-08-05T00:00:30.5Z', price: '250', qty: '2', ingestedAt: 2000}])
        for (const tf of TIMEFRAMES) {
          const result = await runFlowWindows(w, tf, {nowMicros: NOW, lookbackMicros: TIMEFRAME_SPECS[tf].lookbackMicros})
          expect(result.lateWindows, tf).toBe(1)
        }

        for (const [i, tf] of TIMEFRAMES.entries()) {
          const after = await candles(w, tf)
          const changed = after.filter((c, k) => JSON.stringify(c) !== JSON.stringify(before[i][k]))
          expect(changed, tf).toHaveLength(1)
          expect(changed[0]).toMatchObject({window_start: '2024-08-05 00:00:00', high_price: '250.00000000', close_price: tf === '1h' || tf === '1d' ? '100.00000000' : '250.00000000'})
          expect(Number(changed[0].trade_count)).toBe(Number(before[i][0].trade_count) + 1)
          expect(changed[0].created_at).toBe(before[i][0].created_at)
        }

        // Nothing new: the next runs touch only their lookback.
        const again = await runFlowWindows(w, '1m', {nowMicros: NOW, lookbackMicros: TIMEFRAME_SPECS['1m'].lookbackMicros})
        expect(again.lateWindows).toBe(0)

        // A recompute that changes nothing leaves the rows as they were, updated_at included.
        const settled = await Promise.all(TIMEFRAMES.map((tf) => candles(w, tf)))
        await backfillAll(w, '2024-08-05T00:00:00Z', '2024-08-09T00:00:00Z', NOW + 3_600_000_000)
        for (const [i, tf] of TIMEFRAMES.entries()) expect(await candles(w, tf), tf).toEqual(settled[i])
      })
    })

    it('does not write a window that has not closed, unless asked', async () => {
      await withTestEngine(tempDir(), async (w) => {
        await insertTrades(w, [
          {id: '1', at: '2024-08-09T00:01:10Z', price: '100', qty: '1'},
          {id: '2', at: '2024-08-09T00:02:10Z', price: '101', qty: '1'},
        ])
        const closed = await runFlowWindows(w, '1m', {nowMicros: NOW, lookbackMicros: 600_000_000})
        expect(closed.candles).toBe(1)
        expect((await candles(w, '1m')).map((c) => c.window_start)).toEqual(['2024-08-09 00:01:00'])
        // The trade in the open window waits: once the window closes the next run writes it.
        const later = await runFlowWindows(w, '1m', {nowMicros: micros('2024-08-09T00:30:00Z'), lookbackMicros: 60_000_000})
        expect(later.fromMicros).toBe(micros('2024-08-09T00:02:00Z'))
        expect(later.candles).toBe(1)
        expect((await candles(w, '1m')).map((c) => c.window_start)).toEqual(['2024-08-09 00:01:00', '2024-08-09 00:02:00'])
      })
      await withTestEngine(tempDir(), async (w) => {
        await insertTrades(w, [{id: '2', at: '2024-08-09T00:02:10Z', price: '101', qty: '1'}])
        await runFlowWindows(w, '1m', {nowMicros: NOW, lookbackMicros: 600_000_000, includeOpen: true})
        expect((await candles(w, '1m')).map((c) => c.window_start)).toEqual(['2024-08-09 00:02:00'])
      })
    })

    it('leaves the candles of the same day outside a 30m/1h run untouched', async () => {
      await withTestEngine(tempDir(), async (w) => {
        const day = micros('2024-08-08T00:00:00Z')
        await insertTrades(w, Array.from({length: 288}, (_, i) => ({id: String(i + 1), at: day + i * 300_000_000 + 7, price: String(50 + (i % 11)), qty: '1'})))
        await backfillAll(w, '2024-08-08T00:00:00Z', '2024-08-09T00:00:00Z', micros('2024-08-09T00:30:00Z'))
        for (const tf of ['30m', '1h', '1d'] as const) {
          const before = await candles(w, tf)
          const result = await runFlowWindows(w, tf, {nowMicros: micros('2024-08-09T00:30:00Z') + 1, lookbackMicros: 3_600_000_000})
          const after = await candles(w, tf)
          expect(after).toHaveLength(before.length)
          const rewritten = after.filter((c, i) => c.updated_at !== before[i].updated_at).map((c) => c.window_start)
          for (const start of rewritten) expect(micros(start.replace(' ', 'T') + 'Z')).toBeGreaterThanOrEqual(result.fromMicros)
          expect(after.filter((c) => micros(c.window_start.replace(' ', 'T') + 'Z') < result.fromMicros)).toEqual(before.filter((c) => micros(c.window_start.replace(' ', 'T') + 'Z') < result.fromMicros))
        }
      })
    })

    it('leaves the other candles of the month outside a 1d run untouched', async () => {
      await withTestEngine(tempDir(), async (w) => {
        await insertTrades(w, ['2024-08-01T10:00:00Z', '2024-08-07T10:00:00Z', '2024-08-08T10:00:00Z'].map((at, i) => ({id: String(i + 1), at, price: '100', qty: '1'})))
        const first = await runFlowWindows(w, '1d', {nowMicros: micros('2024-08-09T00:30:00Z'), lookbackMicros: 8 * 86_400_000_000})
        expect(first.candles).toBe(3)
        const before = await candles(w, '1d')
        await insertTrades(w, [{id: '4', at: '2024-08-08T12:00:00Z', price: '120', qty: '1', ingestedAt: 2}])
        const second = await runFlowWindows(w, '1d', {nowMicros: micros('2024-08-09T00:45:00Z'), lookbackMicros: TIMEFRAME_SPECS['1d'].lookbackMicros})
        expect(second.fromMicros).toBe(micros('2024-08-07T00:00:00Z'))
        const after = await candles(w, '1d')
        expect(after.map((c) => c.window_start)).toEqual(['2024-08-01 00:00:00', '2024-08-07 00:00:00', '2024-08-08 00:00:00'])
        // The 1st is outside the run, the 7th was recomputed to the same values: both as they were.
        expect(after.slice(0, 2)).toEqual(before.slice(0, 2))
        expect(after[2]).toMatchObject({trade_count: '2', high_price: '120.00000000', created_at: before[2].created_at})
        expect(after[2].updated_at).not.toBe(before[2].updated_at)
      })
    })

    it('removes a stored candle whose window has no trades any more', async () => {
      await withTestEngine(tempDir(), async (w) => {
        await insertTrades(w, [{id: '1', at: '2024-08-08T23:55:01Z', price: '1', qty: '1'}])
        await backfillAll(w, '2024-08-08T23:00:00Z', '2024-08-09T00:00:00Z')
        await factory.deleteTrades(w)
        const plan = planBackfill(['1m'], micros('2024-08-08T23:00:00Z'), micros('2024-08-09T00:00:00Z'), NOW)
        const result = await w.replaceRanges(plan.chunks[0].ranges, {nowMicros: NOW})
        expect(result.removed).toBe(1)
        expect(await candles(w, '1m')).toEqual([])
      })
    })
  })
}
