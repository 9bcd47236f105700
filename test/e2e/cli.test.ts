import {execa} from 'execa'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {TIMEFRAMES} from '../../src/pipeline/timeframes.js'
import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {BIN, k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'
import {candleValues, openTestWarehouse, seedSyntheticTrades} from '../helpers/warehouse.js'

const NOW = '2024-08-16T00:00:00Z'

async function seededHome(dir: string, trades = 20_000, days = 3): Promise<string> {
  const warehouse = await openTestWarehouse(dir)
  const to = new Date(Date.parse('2024-08-08T00:00:00Z') + days * 86_400_000).toISOString()
  await seedSyntheticTrades(warehouse, {trades, from: '2024-08-08T00:00:00Z', to})
  warehouse.close()
  return dir
}

async function allCandles(path: string) {
  const warehouse = await Warehouse.open(path, {operation: 'test', lockTimeoutMs: 5000, readOnly: true})
  try {
    return await Promise.all(TIMEFRAMES.map((tf) => candleValues(warehouse, tf)))
  } finally {
    warehouse.close()
  }
}

describe('k2ops CLI', () => {
  const tempDir = useTempDir()

  it('lists every command in --help, without loading DuckDB', async () => {
    const result = await k2ops(['--help'])
    expect(result.exitCode).toBe(0)
    for (const command of ['init', 'ingest', 'demo', 'trigger', 'backfill', 'candles']) expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, 'm'))
    // DuckDB is a native addon: a preload that records every dlopen shows whether help loaded it.
    const preload = join(tempDir(), 'record-dlopen.cjs')
    writeFileSync(preload, "const o = process.dlopen; const seen = []; process.dlopen = (m, f, ...r) => { seen.push(f); return o(m, f, ...r) }; process.on('exit', () => process.stderr.write('dlopen:' + JSON.stringify(seen)))")
    const traced = await execa('node', ['--require', preload, BIN, '--help'], {reject: false})
    expect(traced.exitCode).toBe(0)
    expect(traced.stderr).toContain('dlopen:[]')
    const loaded = await execa('node', ['--require', preload, BIN, 'init', '--home', tempDir()], {reject: false})
    expect(loaded.stderr).toMatch(/dlopen:\[".*duckdb.*\]/)
  })

  it('init creates the schema, is safe to rerun, and prints stable JSON', async () => {
    const home = tempDir()
    const first = await k2ops(['init', '--home', home, '--json'])
    expect(first.exitCode).toBe(0)
    expect(first.json).toEqual({
      home,
      warehouse: join(home, 'warehouse.duckdb'),
      created: true,
      tables: expect.arrayContaining(['market_data.gold_crypto_trades', 'market_data.gold_ohlcv_1d']),
      engine: 'duckdb',
      dryRun: false,
      schema: expect.arrayContaining([{table: 'market_data.gold_ohlcv_1d', action: 'created', changes: []}]),
      recordedEngine: null,
    })
    const again = await k2ops(['init', '--home', home, '--json'])
    expect(again.json.created).toBe(false)
  })

  it('trigger all runs the five flows in order and records them; --json is one document', async () => {
    const home = await seededHome(tempDir())
    const result = await k2ops(['trigger', 'all', '--home', home, '--json'], {K2OPS_NOW: NOW})
    expect(result.exitCode).toBe(0)
    expect(result.json.runs.map((r: {flow: string}) => r.flow)).toEqual(TIMEFRAMES.map((tf) => `OHLCV-${tf}-Pipeline`))
    for (const run of result.json.runs) {
      expect(run).toMatchObject({state: 'Completed', trigger: 'manual', deployment: expect.stringMatching(/^ohlcv-.+-scheduled$/)})
      expect(Object.keys(run)).toEqual(expect.arrayContaining(['id', 'startedAt', 'endedAt', 'durationMs', 'rangeFrom', 'rangeTo', 'candles', 'removed', 'trades', 'lateWindows']))
    }

    expect(result.json.runs[0].trades).toBe(19_998)
    const table = await k2ops(['trigger', '1m', '--home', home], {K2OPS_NOW: NOW})
    expect(table.exitCode).toBe(0)
    expect(table.stdout).toMatch(/OHLCV-1m-Pipeline\s+Completed/)
  })

  it('a flow that fails is recorded Failed with its error, and trigger exits 1', async () => {
    const home = await seededHome(tempDir(), 1000, 1)
    // Break the warehouse under the flow: its bookkeeping table is gone.
    const warehouse = await openTestWarehouse(home)
    await warehouse.run('DROP TABLE k2ops_meta.flow_watermarks')
    warehouse.close()
    const result = await k2ops(['trigger', '1m', '--home', home, '--json'], {K2OPS_NOW: NOW})
    expect(result.exitCode).toBe(1)
    expect(result.json.runs[0]).toMatchObject({flow: 'OHLCV-1m-Pipeline', state: 'Failed', error: expect.stringMatching(/flow_watermarks/)})
    const human = await k2ops(['trigger', '1m', '--home', home], {K2OPS_NOW: NOW})
    expect(human.exitCode).toBe(1)
    expect(human.stderr).toMatch(/^k2ops: OHLCV-1m-Pipeline failed: /m)
  })

  it('backfill gives the same candles as the flows, and candles shows them', async () => {
    const byFlows = await seededHome(tempDir())
    const byBackfill = await seededHome(tempDir())
    expect((await k2ops(['trigger', 'all', '--home', byFlows], {K2OPS_NOW: NOW})).exitCode).toBe(0)
    const backfill = await k2ops(['backfill', '--timeframe', 'all', '--from', '2024-08-08', '--to', '2024-08-11', '--home', byBackfill, '--json'], {K2OPS_NOW: NOW})
    expect(backfill.exitCode).toBe(0)
    expect(backfill.json).toMatchObject({timeframes: [...TIMEFRAMES], from: '2024-08-08T00:00:00Z', to: '2024-08-11T00:00:00Z', days: 3, trades: 19_998})
    expect(await allCandles(join(byBackfill, 'warehouse.duckdb'))).toEqual(await allCandles(join(byFlows, 'warehouse.duckdb')))

    const shown = await k2ops(['candles', 'BTCUSDT', '--exchange', 'BINANCE', '--timeframe', '1h', '--limit', '3', '--home', byBackfill, '--json'])
    expect(shown.exitCode).toBe(0)
    expect(shown.json.candles).toHaveLength(3)
    expect(shown.json.candles[2]).toMatchObject({symbol: 'BTCUSDT', exchange: 'BINANCE', window_start: '2024-08-10T23:00:00Z'})
    expect(Object.keys(shown.json.candles[0])).toEqual(['symbol', 'exchange', 'window_start', 'window_end', 'open_price', 'high_price', 'low_price', 'close_price', 'volume', 'trade_count', 'vwap', 'quote_volume', 'taker_buy_volume', 'taker_buy_quote_volume'])
    const human = await k2ops(['candles', 'BTCUSDT', '--timeframe', '1h', '--limit', '3', '--home', byBackfill])
    expect(human.stdout).toMatch(/^WINDOW START \(UTC\)\s+SYMBOL\s+EXCHANGE\s+OPEN/m)
    expect(human.stdout).toMatch(/2024-08-10T23:00:00Z\s+BTCUSDT\s+BINANCE/)
  })

  it('a backfill killed midway and run again ends with the candles of one clean run', async () => {
    const clean = await seededHome(tempDir(), 60_000, 20)
    const interrupted = await seededHome(tempDir(), 60_000, 20)
    const args = ['backfill', '--timeframe', 'all', '--from', '2024-08-08', '--to', '2024-08-28']
    expect((await k2ops([...args, '--home', clean], {K2OPS_NOW: '2024-09-01T00:00:00Z'})).exitCode).toBe(0)
    const child = execa('node', [BIN, ...args, '--home', interrupted], {reject: false, env: {K2OPS_NOW: '2024-09-01T00:00:00Z', NO_COLOR: '1'}})
    await new Promise<void>((resolve) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        if (/\b[2-9]\/20 days/.test(chunk.toString())) resolve()
      })
      void child.then(() => resolve())
    })
    child.kill('SIGKILL')
    const killed = await child
    expect(killed.signal).toBe('SIGKILL')
    const rerun = await k2ops([...args, '--home', interrupted], {K2OPS_NOW: '2024-09-01T00:00:00Z'})
    expect(rerun.exitCode).toBe(0)
    expect(await allCandles(join(interrupted, 'warehouse.duckdb'))).toEqual(await allCandles(join(clean, 'warehouse.duckdb')))
  })

  it('gives a one-line error and exit 2 for bad usage', async () => {
    const home = await seededHome(tempDir(), 1000, 1)
    const cases: Array<[string[], RegExp]> = [
      [['trigger', '2m'], /^k2ops: TIMEFRAME: unknown timeframe '2m'/],
      [['backfill', '--timeframe', '1h', '--from', '2024-08-10', '--to', '2024-08-09'], /^k2ops: --from 2024-08-10T00:00:00Z is not before --to 2024-08-09T00:00:00Z/],
      [['backfill', '--timeframe', '4h', '--from', '-1d'], /^k2ops: --timeframe: unknown timeframe '4h'/],
      [['backfill', '--timeframe', '1h', '--from', 'yesterday'], /^k2ops: --from: 'yesterday' is not an ISO-8601 instant/],
      [['ingest', join(home, 'missing.csv')], /^k2ops: .*missing\.csv: no such file/],
      [['candles', 'BTCUSDT', '--timeframe', '2x'], /^k2ops: --timeframe: '2x' is not a timeframe \(expected Nm, Nh, Nd, 1w or 1M/],
      [['trigger', '1m', '--home', join(home, 'elsewhere')], /^k2ops: no warehouse at /],
    ]
    for (const [args, message] of cases) {
      const result = await k2ops([...args, ...(args.includes('--home') ? [] : ['--home', home])])
      expect(result.exitCode, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).toMatch(message)
      expect(result.stderr).not.toMatch(/\n\s+at /)
      const json = await k2ops([...args, ...(args.includes('--home') ? [] : ['--home', home]), '--json'])
      expect(json.exitCode).toBe(2)
      expect(json.json).toEqual({error: {code: expect.any(String), exit: 2, message: expect.any(String), suggestions: expect.any(Array)}})
    }
  })

  it('exits 4 within the wait bound when another process holds the warehouse, naming it', async () => {
    const home = await seededHome(tempDir(), 1000, 1)
    const holder = execa('node', [BIN, 'backfill', '--timeframe', 'all', '--from', '2024-08-08', '--to', '2024-08-09', '--home', home], {reject: false, env: {K2OPS_NOW: NOW}})
    const held = await Warehouse.open(join(home, 'warehouse.duckdb'), {operation: 'test holder (backfill)', lockTimeoutMs: 30_000})
    try {
      // The holder keeps the warehouse until the end of the test: exit 4 means trigger gave up waiting, as bounded.
      const busy = await k2ops(['trigger', '1m', '--home', home, '--lock-timeout', '1', '--json'], {K2OPS_NOW: NOW})
      expect(busy.exitCode).toBe(4)
      expect(busy.json.error).toMatchObject({code: 'warehouse_busy', exit: 4})
      expect(busy.json.error.message).toMatch(new RegExp(`pid ${process.pid} \\(test holder \\(backfill\\)`))
    } finally {
      held.close()
      await holder
    }
  })
})
