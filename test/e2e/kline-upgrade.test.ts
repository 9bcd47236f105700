import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {COVERED_TRADES, KLINE_COLUMNS, KLINE_FILL_COMMAND, TRADES_TABLE} from '../../src/pipeline/schema.js'
import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'

// A warehouse made before the kline fields (quote volume, taker-buy volumes) and covered_trades: a
// flow says to run init, init adds the columns and names the backfill that fills them, and the
// backfill does.
// (real processes, ~10 s)

const DEMO_NOW = '2024-08-10T12:34:56Z'
const LATER = '2024-08-10T12:40:00Z'

/** A demo home whose tables lack the columns added since (kline fields, covered_trades), as one made by an earlier k2ops. */
async function oldHome(dir: string): Promise<string> {
  const home = join(dir, 'home')
  const demo = await k2ops(['demo', '--trades', '3000', '--home', home], {K2OPS_NOW: DEMO_NOW})
  expect(demo.exitCode, demo.stderr).toBe(0)
  const warehouse = await Warehouse.open(join(home, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 5000})
  try {
    for (const tf of TIMEFRAMES) for (const column of KLINE_COLUMNS) await warehouse.run(`ALTER TABLE ${TIMEFRAME_SPECS[tf].table} DROP COLUMN ${column.name}`)
    await warehouse.run(`ALTER TABLE ${TRADES_TABLE} DROP COLUMN ${COVERED_TRADES.name}`)
  } finally {
    warehouse.close()
  }

  return home
}

describe('candle tables made before the kline fields', () => {
  const tempDir = useTempDir()

  it('a flow and a read name init; init adds the columns and the backfill that fills them; the backfill fills them', async () => {
    const home = await oldHome(tempDir())
    const cli = (args: string[]) => k2ops([...args, '--home', home], {K2OPS_NOW: LATER})
    const flow = await cli(['trigger', '1m', '--direct'])
    expect(flow.exitCode).toBe(1)
    expect(flow.stderr).toMatch(/(the candle tables have no quote_volume|the trades table has no covered_trades) column yet \(made by an earlier k2ops\): run k2ops init to add it/)
    // A check that counts the trades (reconcile) says the same.
    const check = await cli(['reconcile', '--lookback', '3d'])
    expect(check.exitCode, check.stderr).toBe(2)
    expect(check.stderr.split('\n')[0]).toMatch(/no covered_trades column yet \(made by an earlier k2ops\): run k2ops init to add it$/)
    const read = await cli(['candles', 'BTCUSDT'])
    expect(read.exitCode).toBe(2)
    expect(read.stderr.split('\n')[0]).toMatch(/^k2ops: .*warehouse\.duckdb: the candle tables have no quote_volume column yet \(made by an earlier k2ops\): run k2ops init to add it$/)

    const dry = await cli(['init', '--dry-run', '--json'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    const added = `added ${KLINE_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ')}`
    expect(dry.json.schema.filter((t: {action: string}) => t.action === 'altered')).toEqual([
      {table: TRADES_TABLE, action: 'altered', changes: ['added covered_trades BIGINT']},
      ...TIMEFRAMES.map((tf) => ({table: TIMEFRAME_SPECS[tf].table, action: 'altered', changes: [added], fill: KLINE_FILL_COMMAND})),
    ])
    expect((await cli(['trigger', '1m', '--direct'])).exitCode).toBe(1)

    const init = await cli(['init'])
    expect(init.exitCode, init.stderr).toBe(0)
    expect(init.stdout).toContain(`  Changed      market_data.gold_ohlcv_1m\n    ${added}`)
    expect(init.stdout).toContain(`Next: ${KLINE_FILL_COMMAND} fills the added columns of the candles built before`)
    const again = await cli(['init', '--json'])
    expect(again.json.schema.every((t: {action: string}) => t.action === 'adopted')).toBe(true)

    // The candles built before have no kline fields until the backfill rebuilds them.
    const before = await cli(['candles', 'BTCUSDT', '--timeframe', '1h', '--from', '2024-08-08', '--to', '2024-08-09', '--json'])
    expect(before.json.candles.length).toBeGreaterThan(10)
    expect(before.json.candles.every((c: {quote_volume: string | null}) => c.quote_volume === null)).toBe(true)
    const fill = await cli([...KLINE_FILL_COMMAND.split(' ').slice(1), '--json'])
    expect(fill.exitCode, fill.stderr).toBe(0)
    const after = await cli(['candles', 'BTCUSDT', '--timeframe', '1h', '--from', '2024-08-08', '--to', '2024-08-09', '--json'])
    expect(after.json.candles).toHaveLength(before.json.candles.length)
    for (const candle of after.json.candles) {
      // quote volume / volume is the vwap before its rounding to 8 places.
      expect(Math.abs(Number(candle.quote_volume) / Number(candle.volume) - Number(candle.vwap)), candle.window_start).toBeLessThan(1e-6)
      expect(candle.taker_buy_volume, candle.window_start).not.toBeNull()
    }
  })
})
