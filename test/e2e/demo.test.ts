import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'

/** The rollup of `lower` into `higher`'s windows, compared with the stored `higher` candles. */
function rollupMismatchSql(lower: string, higher: string, parentMicros: number): string {
  return `
WITH kids AS (
  SELECT *, make_timestamp(epoch_us(window_start) - epoch_us(window_start) % ${parentMicros}) AS parent FROM ${lower}
), rolled AS (
  SELECT symbol, exchange, parent AS window_start,
         arg_min(open_price, window_start) AS open_price, max(high_price) AS high_price,
         min(low_price) AS low_price, arg_max(close_price, window_start) AS close_price,
         sum(volume) AS volume, sum(trade_count) AS trade_count,
         sum(vwap::DOUBLE * volume::DOUBLE) / sum(volume::DOUBLE) AS vwap
  FROM kids GROUP BY ALL
)
SELECT coalesce(r.symbol, h.symbol) AS symbol, coalesce(r.window_start, h.window_start) AS window_start
FROM rolled r FULL OUTER JOIN ${higher} h USING (symbol, exchange, window_start)
WHERE r.symbol IS NULL OR h.symbol IS NULL
   OR r.open_price <> h.open_price OR r.high_price <> h.high_price OR r.low_price <> h.low_price
   OR r.close_price <> h.close_price OR r.volume <> h.volume OR r.trade_count <> h.trade_count
   OR abs(r.vwap - h.vwap::DOUBLE) > 1.01e-8 * greatest(1, h.vwap::DOUBLE / 10000)`
}

describe('k2ops demo', () => {
  const tempDir = useTempDir()

  it('builds all five timeframes from synthetic trades, late batch included, and each equals the rollup of the one below', async () => {
    const home = join(tempDir(), 'demo')
    const result = await k2ops(['demo', '--home', home, '--trades', '30000', '--json'], {K2OPS_NOW: '2024-08-10T12:34:56Z'})
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.json).toMatchObject({home, warehouse: join(home, 'warehouse.duckdb'), lateTrades: 40})
    expect(result.json.markets.map((m: {exchange: string}) => m.exchange)).toEqual(expect.arrayContaining(['BINANCE', 'KRAKEN']))
    expect(result.json.runs).toHaveLength(10)
    for (const run of result.json.runs) expect(run.state).toBe('Completed')
    // The second pass rebuilt the late windows in every timeframe.
    for (const run of result.json.runs.slice(5)) expect(run.lateWindows, run.flow).toBeGreaterThan(0)
    for (const tf of TIMEFRAMES) expect(result.json.candles[tf]).toBeGreaterThan(0)
    expect(result.json.next[0]).toContain(`--home ${home}`)

    const warehouse = await Warehouse.open(join(home, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 5000, readOnly: true})
    try {
      const now = Date.parse('2024-08-10T12:34:56Z') * 1000
      for (const tf of TIMEFRAMES) {
        // Every trade before the timeframe's open window is in exactly one of its candles.
        const cutoff = Math.floor(now / TIMEFRAME_SPECS[tf].micros) * TIMEFRAME_SPECS[tf].micros
        const trades = await warehouse.one<{n: bigint}>(`SELECT count(*) AS n FROM market_data.gold_crypto_trades WHERE "timestamp" < ${cutoff}`)
        const inCandles = await warehouse.one<{n: bigint}>(`SELECT sum(trade_count)::BIGINT AS n FROM ${TIMEFRAME_SPECS[tf].table}`)
        expect(Number(inCandles.n), tf).toBe(Number(trades.n))
      }

      for (let i = 1; i < TIMEFRAMES.length; i++) {
        const lower = TIMEFRAME_SPECS[TIMEFRAMES[i - 1]]
        const higher = TIMEFRAME_SPECS[TIMEFRAMES[i]]
        // Compare only the windows closed for both timeframes: the open higher window is not written.
        const mismatches = await warehouse.json(`SELECT * FROM (${rollupMismatchSql(lower.table, higher.table, higher.micros)}) WHERE window_start < TIMESTAMP '2024-08-10 00:00:00'`)
        expect(mismatches, `${lower.name} → ${higher.name}`).toEqual([])
      }
    } finally {
      warehouse.close()
    }
  })

  it('refuses to wipe a directory that is not a demo home, and ignores K2OPS_HOME', async () => {
    const real = tempDir()
    expect((await k2ops(['init', '--home', real])).exitCode).toBe(0)
    const refused = await k2ops(['demo', '--home', real, '--trades', '1000'])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toMatch(/is not a demo home/)
    expect(existsSync(join(real, 'warehouse.duckdb'))).toBe(true)
    // With K2OPS_HOME set to a real home, the demo still goes to its own directory.
    const dataDir = tempDir()
    const demo = await k2ops(['demo', '--trades', '1000', '--json'], {K2OPS_HOME: real, XDG_DATA_HOME: dataDir})
    expect(demo.exitCode, demo.stderr).toBe(0)
    expect(demo.json.home).toBe(join(dataDir, 'k2ops', 'demo'))
    expect(existsSync(join(real, 'warehouse.duckdb'))).toBe(true)
  })
})
