import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {DuckdbEngine} from '../../src/pipeline/engine/duckdb/duckdb-engine.js'
import {BadInputError} from '../../src/pipeline/errors.js'
import {useTempDir} from '../helpers/temp-home.js'

const NOW = Date.UTC(2025, 0, 2) * 1000
const HEADER = 'trade_id,symbol,exchange,timestamp,price,quantity,side,source_sequence'

describe('DuckDB exportValidated: a tape checked as ingest checks it, written to Parquet, nothing stored', () => {
  const tempDir = useTempDir('k2ops-export-')
  const open: DuckdbEngine[] = []
  afterEach(async () => {
    for (const engine of open.splice(0)) await engine.close()
  })

  async function setup(lines: string[]): Promise<{dir: string; engine: DuckdbEngine; tape: string; out: string}> {
    const dir = tempDir()
    const engine = await DuckdbEngine.open(join(dir, 'w.duckdb'), {operation: 'test', lockTimeoutMs: 1000, create: true})
    open.push(engine)
    const tape = join(dir, 'trades.csv')
    writeFileSync(tape, [HEADER, ...lines].join('\n') + '\n')
    return {dir, engine, tape, out: join(dir, 'validated.parquet')}
  }

  const storedTrades = async (engine: DuckdbEngine) => Number((await engine.warehouse.one<{n: bigint}>('SELECT count(*) AS n FROM market_data.gold_crypto_trades')).n)

  it('writes the accepted rows once each, in time order, with the contract columns but ingestion_timestamp; rejects go to the rejects file', async () => {
    const {dir, engine, tape, out} = await setup([
      't2,btc/usdt,binance,1723161255400000,61837.63,1000000000000,sell,2',
      't1,BTCUSDT,BINANCE,1723161255342001,61837.62,0.02,BUY,1',
      't1,BTCUSDT,BINANCE,1723161255342001,61837.62,0.02,BUY,1',
      't3,BTCUSDT,BINANCE,1723161255500000,-1,0.02,BUY,3',
    ])
    const result = await engine.exportValidated(tape, {rejectsDir: join(dir, 'rejects'), nowMicros: NOW, skipBadRows: true}, out)
    expect(result).toMatchObject({format: 'k2', rowsRead: 4, rows: 2, duplicates: 1, rejected: 1, minMicros: 1_723_161_255_342_001, maxMicros: 1_723_161_255_400_000, parquet: out})
    expect(readFileSync(result.rejectsFile!, 'utf8')).toMatch(/^5,price,"must be > 0, got '-1'",/m)
    expect(await storedTrades(engine)).toBe(0)

    const rows = await engine.warehouse.json(`SELECT * FROM read_parquet('${out}')`)
    expect(rows).toEqual([
      {trade_id: 't1', symbol: 'BTCUSDT', exchange: 'BINANCE', timestamp: '1723161255342001', price: '61837.62000000', quantity: '0.02000000', side: 'BUY', source_sequence: '1', covered_trades: null, exchange_date: '2024-08-08'},
      {trade_id: 't2', symbol: 'BTCUSDT', exchange: 'BINANCE', timestamp: '1723161255400000', price: '61837.63000000', quantity: '1000000000000.00000000', side: 'SELL', source_sequence: '2', covered_trades: null, exchange_date: '2024-08-08'},
    ])
    const types = await engine.warehouse.all<{column_name: string; column_type: string}>(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${out}'))`)
    expect(types.map((t) => `${t.column_name} ${t.column_type}`)).toEqual([
      'trade_id VARCHAR',
      'symbol VARCHAR',
      'exchange VARCHAR',
      'timestamp BIGINT',
      'price DECIMAL(18,8)',
      'quantity DECIMAL(38,8)',
      'side VARCHAR',
      'source_sequence BIGINT',
      'covered_trades BIGINT',
      'exchange_date DATE',
    ])
  })

  it('refuses what ingest refuses, with the same message: a bad row, a trade id repeated with other values', async () => {
    const bad = await setup(['t1,BTCUSDT,BINANCE,1723161255342000,abc,0.02,BUY,1'])
    const options = {rejectsDir: join(bad.dir, 'rejects'), nowMicros: NOW}
    const exported = await bad.engine.exportValidated(bad.tape, options, bad.out).catch((error: unknown) => error)
    const ingested = await bad.engine.ingestFile(bad.tape, options).catch((error: unknown) => error)
    expect(exported).toBeInstanceOf(BadInputError)
    expect((exported as Error).message).toBe((ingested as Error).message)
    expect((exported as Error).message).toMatch(/trades\.csv:2: price: 'abc' is not a decimal number/)

    const repeat = await setup(['t1,BTCUSDT,BINANCE,1723161255342000,1.5,2,BUY,1', 't1,BTCUSDT,BINANCE,1723161255342000,1.6,2,BUY,1'])
    const error = await repeat.engine.exportValidated(repeat.tape, {rejectsDir: join(repeat.dir, 'rejects'), nowMicros: NOW}, repeat.out).catch((e: unknown) => e)
    expect((error as Error).message).toBe(`${repeat.tape}:3: trade_id: t1 repeats line 2 with a different price`)
  })

  it('a tape with no accepted row gives an empty file with every column', async () => {
    const {dir, engine, tape, out} = await setup(['t1,BTCUSDT,BINANCE,1723161255342000,-1,0.02,BUY,1'])
    const result = await engine.exportValidated(tape, {rejectsDir: join(dir, 'rejects'), nowMicros: NOW, skipBadRows: true}, out)
    expect(result).toMatchObject({rows: 0, rejected: 1, duplicates: 0})
    const columns = await engine.warehouse.all(`DESCRIBE SELECT * FROM read_parquet('${out}')`)
    expect(columns).toHaveLength(10)
  })
})
