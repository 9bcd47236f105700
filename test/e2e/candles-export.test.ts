import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {loadDuckDB} from '../../src/pipeline/engine/duckdb/duckdb-module.js'
import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {k2ops} from '../helpers/cli.js'
import {killWhenStderr} from '../helpers/kill-at.js'
import {useTempDir} from '../helpers/temp-home.js'
import {candles as storedCandles} from '../helpers/warehouse.js'

// `k2ops candles export` on a demo home: Parquet that reads back in DuckDB with the stored rows and
// the tables' types, CSV and JSON Lines with the rows `candles` shows, a file never replaced by
// accident, and a killed export that leaves nothing under the final name. (real processes, ~20 s)

const NOW = '2024-08-10T12:34:56Z'
const RANGE = ['--from', '2024-08-01', '--to', '2024-08-11']

/** Rows of a Parquet file and its column types, read by DuckDB. */
async function readParquet(file: string): Promise<{rows: Array<Record<string, unknown>>; types: Record<string, string>}> {
  const {DuckDBInstance} = loadDuckDB()
  const instance = await DuckDBInstance.create(':memory:')
  const connection = await instance.connect()
  try {
    const read = `read_parquet('${file}')`
    const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${read}`)).getRowObjectsJson() as Array<{column_name: string; column_type: string}>
    const rows = (await connection.runAndReadAll(`SELECT * FROM ${read} ORDER BY symbol, exchange, window_start`)).getRowObjectsJson()
    return {rows, types: Object.fromEntries(described.map((c) => [c.column_name, c.column_type]))}
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

describe('k2ops candles export', () => {
  const tempDir = useTempDir()
  // One demo home for the file (each test's output goes to a directory of its own).
  const dir = mkdtempSync(join(tmpdir(), 'k2ops-export-'))
  const home = join(dir, 'home')
  const cli = (args: string[]) => k2ops([...args, '--home', home], {K2OPS_NOW: NOW})

  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  beforeAll(async () => {
    const demo = await k2ops(['demo', '--trades', '5000', '--home', home], {K2OPS_NOW: NOW})
    expect(demo.exitCode, demo.stderr).toBe(0)
  }, 60_000)

  it('Parquet of every market reads back in DuckDB with the stored rows and the candle tables\' types', async () => {
    const out = join(tempDir(), 'all-1h.parquet')
    const result = await cli(['candles', 'export', '--timeframe', '1h', ...RANGE, '--all', '--out', out, '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    const {rows, types} = await readParquet(out)
    expect(types).toMatchObject({
      window_start: 'TIMESTAMP',
      open_price: 'DECIMAL(18,8)',
      volume: 'DECIMAL(38,8)',
      trade_count: 'BIGINT',
      vwap: 'DECIMAL(18,8)',
      quote_volume: 'DECIMAL(38,16)',
      taker_buy_volume: 'DECIMAL(38,8)',
    })
    const warehouse = await Warehouse.open(join(home, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 5000, readOnly: true})
    const stored = await storedCandles(warehouse, '1h').finally(() => warehouse.close())
    expect(result.json).toMatchObject({format: 'parquet', rows: stored.length, markets: 6, timeframe: '1h'})
    expect(rows.map(({window_start, ...rest}) => ({...rest, window_start: String(window_start).slice(0, 19)}))).toEqual(
      stored.map(({window_date: _d, created_at: _c, updated_at: _u, window_start, window_end, ...rest}) => ({...rest, window_start: window_start.slice(0, 19), window_end})),
    )
    // Nothing but the file is left beside it.
    expect(readdirSync(join(out, '..'))).toEqual(['all-1h.parquet'])
  })

  it('CSV and JSON Lines hold the rows candles shows, resampled and filled alike; counts are numbers in JSON Lines', async () => {
    const read = ['--timeframe', '4h', '--fill', 'previous', ...RANGE]
    const shown = (await cli(['candles', 'BTCUSDT', ...read, '--limit', '1000', '--json'])).json.candles
    const jsonl = join(tempDir(), 'btc.jsonl')
    const csv = join(tempDir(), 'btc.csv')
    for (const out of [jsonl, csv]) expect((await cli(['candles', 'export', ...read, '--symbol', 'btcusdt', '--out', out])).exitCode).toBe(0)
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map((line) => JSON.parse(line))
    expect(lines).toEqual(shown)
    const [header, ...rows] = readFileSync(csv, 'utf8').trim().split('\n')
    expect(header).toBe('symbol,exchange,window_start,window_end,open_price,high_price,low_price,close_price,volume,trade_count,vwap,quote_volume,taker_buy_volume,taker_buy_quote_volume,filled')
    expect(rows).toHaveLength(shown.length)
    expect(rows.filter((row) => row.endsWith(',true'))).toHaveLength(shown.filter((c: {filled: boolean}) => c.filled).length)
  })

  it('candles reads several symbols at once, trade_count a JSON number', async () => {
    const both = await cli(['candles', 'btcusdt,ETHUSDT', '--timeframe', '1h', '--limit', '6', '--json'])
    expect(both.exitCode, both.stderr).toBe(0)
    expect(both.json).toMatchObject({symbols: ['BTCUSDT', 'ETHUSDT']})
    expect(new Set(both.json.candles.map((c: {symbol: string}) => c.symbol))).toEqual(new Set(['BTCUSDT', 'ETHUSDT']))
    expect(both.json.candles.every((c: {trade_count: unknown}) => typeof c.trade_count === 'number')).toBe(true)
  })

  it('candles --bars: tick bars of the trades, each of N trades but a last open one; a bad rule is exit 2', async () => {
    const days = ['--from', '2024-08-07', '--to', '2024-08-09']
    const ticks = await cli(['candles', 'BTCUSDT', '--bars', 'ticks:25', ...days, '--limit', '1000', '--json'])
    expect(ticks.exitCode, ticks.stderr).toBe(0)
    const bars = ticks.json.bars as Array<{trade_count: number; complete: boolean; volume: string}>
    expect(bars.length).toBeGreaterThan(5)
    expect(bars.slice(0, -1).every((b) => b.trade_count === 25 && b.complete)).toBe(true)
    // Every trade of the two days is in one bar, as in the days' candles.
    const candles = (await cli(['candles', 'BTCUSDT', '--timeframe', '1d', ...days, '--json'])).json.candles as Array<{trade_count: number}>
    expect(candles).toHaveLength(2)
    expect(bars.reduce((sum, b) => sum + b.trade_count, 0)).toBe(candles.reduce((sum, c) => sum + c.trade_count, 0))
    const bad = await cli(['candles', 'BTCUSDT', '--bars', 'minutes:5', ...RANGE])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr.split('\n')[0]).toBe("k2ops: --bars: 'minutes:5' is not a bar rule (ticks:N, volume:X or dollar:X, e.g. ticks:1000, volume:50, dollar:1000000)")
  })

  it('keeps a file already at --out unless --force, and refuses a bad request with exit 2', async () => {
    const out = join(tempDir(), 'kept.csv')
    writeFileSync(out, 'precious\n')
    const cases: Array<[string[], RegExp]> = [
      [['--timeframe', '1h', ...RANGE, '--all', '--out', out], /^k2ops: --out: .*kept\.csv already exists; pass --force to replace it$/],
      [['--timeframe', '1h', '--all', '--out', join(tempDir(), 'x.csv')], /^k2ops: candles export needs a range: --from \(and --to\) or --lookback$/],
      [['--timeframe', '1h', ...RANGE, '--out', join(tempDir(), 'x.csv')], /exactly one of the following must be provided: --all, --symbol|--all|--symbol/],
      [['--timeframe', '7x', ...RANGE, '--all', '--out', join(tempDir(), 'x.csv')], /^k2ops: --timeframe: '7x' is not a timeframe/],
    ]
    for (const [args, message] of cases) {
      const result = await cli(['candles', 'export', ...args])
      expect(result.exitCode, args.join(' ')).toBe(2)
      expect(result.stderr.split('\n')[0], args.join(' ')).toMatch(message)
    }

    expect(readFileSync(out, 'utf8')).toBe('precious\n')
    expect((await cli(['candles', 'export', '--timeframe', '1h', ...RANGE, '--all', '--out', out, '--force'])).exitCode).toBe(0)
    expect(readFileSync(out, 'utf8')).toMatch(/^symbol,exchange,/)
  })

  it('an export killed after a chunk leaves no file under the final name', async () => {
    const target = tempDir()
    const out = join(target, 'killed.parquet')
    const killed = await killWhenStderr(['candles', 'export', '--timeframe', '1m', ...RANGE, '--all', '--out', out, '--home', home], {K2OPS_NOW: NOW, K2OPS_TEST_PAUSE_AT: 'after-export-chunk'}, 'paused at after-export-chunk')
    expect(killed.signal).toBe('SIGKILL')
    expect(existsSync(out)).toBe(false)
    // What it had written is beside it, under a name that says so.
    expect(readdirSync(target).every((name) => name.startsWith('killed.parquet.partial-'))).toBe(true)
  })
})
