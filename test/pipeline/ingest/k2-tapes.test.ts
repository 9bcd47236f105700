import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {BadInputError, UsageError} from '../../../src/pipeline/errors.js'
import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import {Warehouse} from '../../../src/pipeline/engine/duckdb/warehouse.js'
import {useIngestWarehouse} from '../../helpers/ingest-warehouse.js'

const NOW = Date.UTC(2025, 0, 2) * 1000
const setup = useIngestWarehouse(NOW)

async function stored(warehouse: Warehouse): Promise<Record<string, string | null>[]> {
  return warehouse.json(`SELECT trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, ingestion_timestamp, exchange_date
    FROM market_data.gold_crypto_trades ORDER BY "timestamp", trade_id`)
}

/** Writes a Parquet file with DuckDB from a SELECT. */
async function writeParquet(warehouse: Warehouse, path: string, select: string): Promise<string> {
  await warehouse.run(`COPY (${select}) TO '${path}' (FORMAT parquet)`)
  return path
}

const ROWS = `SELECT * FROM (VALUES
    ('t1', 'BTCUSDT', 'BINANCE', 1723161255342000, 61837.63::DECIMAL(18,8), 0.02::DECIMAL(38,8), 'SELL', 3735683259),
    ('t2', 'BTCUSDT', 'BINANCE', 1723161255617123, 61837.64::DECIMAL(18,8), 1000000000000::DECIMAL(38,8), 'BUY', 3735683260),
    ('t3', 'ETH/USDT', 'binance', 1723161255700000, 2600.5::DECIMAL(18,8), 1.5::DECIMAL(38,8), NULL, NULL)
  ) AS v(trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence)`

describe('ingest: k2 contract tapes', () => {
  it('k2 CSV: contract columns by name; ingestion_timestamp and exchange_date in the file are recomputed', async () => {
    const {dir, warehouse, options} = await setup()
    const file = join(dir, 'export.csv')
    writeFileSync(
      file,
      [
        'exchange_date,ingestion_timestamp,trade_id,symbol,exchange,timestamp,price,quantity,side,source_sequence',
        '1999-01-01,1,t1,BTCUSDT,BINANCE,1723161255342000,61837.63,0.02,sell,3735683259',
        '1999-01-01,1,"t,2",btc/usdt,BINANCE,1723161255617123,61837.64000000,1000000000000,BUY,',
        '1999-01-01,1,t3,ETHUSDT,KRAKEN,1723161255700000,2600.5,1.5,,',
      ].join('\n') + '\n',
    )
    const result = await ingestFile(warehouse, file, options)
    expect(result).toMatchObject({format: 'k2', symbol: '*', exchange: '*', rowsRead: 3, inserted: 3, firstTradeMicros: 1_723_161_255_342_000, ingestionTimestamp: NOW})
    const rows = await stored(warehouse)
    expect(rows.map((r) => [r.trade_id, r.symbol, r.exchange, r.timestamp, r.price, r.quantity, r.side, r.source_sequence, r.ingestion_timestamp, r.exchange_date])).toEqual([
      ['t1', 'BTCUSDT', 'BINANCE', '1723161255342000', '61837.63000000', '0.02000000', 'SELL', '3735683259', String(NOW), '2024-08-08'],
      ['t,2', 'BTCUSDT', 'BINANCE', '1723161255617123', '61837.64000000', '1000000000000.00000000', 'BUY', null, String(NOW), '2024-08-08'],
      ['t3', 'ETHUSDT', 'KRAKEN', '1723161255700000', '2600.50000000', '1.50000000', null, null, String(NOW), '2024-08-08'],
    ])
    expect(await ingestFile(warehouse, file, options)).toMatchObject({inserted: 0, duplicates: 3})
  })

  it('k2 CSV: --symbol/--exchange supply missing columns; without them it is a usage error', async () => {
    const {dir, warehouse, options} = await setup()
    const file = join(dir, 'export.csv')
    writeFileSync(file, 'trade_id,timestamp,price,quantity\nt1,1723161255342000,1.5,2\n')
    await expect(ingestFile(warehouse, file, options)).rejects.toBeInstanceOf(UsageError)
    expect(await ingestFile(warehouse, file, {...options, exchange: 'test', symbol: 'ab-c'})).toMatchObject({exchange: 'TEST', symbol: 'ABC', inserted: 1})
  })

  it('k2 CSV: non-ASCII trade ids are stored as written', async () => {
    const {dir, warehouse, options} = await setup()
    const file = join(dir, 'export.csv')
    const ids = Array.from({length: 200}, (_, i) => `trädé-${i}-€`)
    writeFileSync(file, ['trade_id,symbol,exchange,timestamp,price,quantity', ...ids.map((id, i) => `${id},BTCUSDT,BINANCE,${1_723_161_255_342_000 + i},1.5,2`)].join('\n'))
    expect(await ingestFile(warehouse, file, options)).toMatchObject({inserted: 200, symbol: 'BTCUSDT', exchange: 'BINANCE'})
    expect((await stored(warehouse)).map((r) => r.trade_id)).toEqual(ids)
  })

  it('k2 CSV bad rows are reported like any other', async () => {
    const {dir, warehouse, options} = await setup()
    const file = join(dir, 'export.csv')
    writeFileSync(file, 'trade_id,symbol,exchange,timestamp,price,quantity,side\nt1,BTCUSDT,BINANCE,1723161255342000,1.5,2,SELL\nt2,BTCUSDT,BINANCE,1723161255342,1.5,2,SELL\n')
    await expect(ingestFile(warehouse, file, options)).rejects.toMatchObject({
      message: `${file}:3: timestamp: '1723161255342' is not microseconds since the epoch (a 16-digit whole number)`,
    })
    writeFileSync(file, 'trade_id,symbol,exchange,timestamp,price,quantity,side\nt1,BTCUSDT,BINANCE,1723161255342000,1.5,2,HOLD\n')
    await expect(ingestFile(warehouse, file, options)).rejects.toMatchObject({message: `${file}:2: side: expected BUY, SELL or nothing, got 'HOLD'`})
  })

  it('k2 Parquet ingests, symbols normalised, re-ingest is a no-op', async () => {
    const {dir, warehouse, options} = await setup()
    const file = await writeParquet(warehouse, join(dir, 'trades.parquet'), ROWS)
    const result = await ingestFile(warehouse, file, options)
    expect(result).toMatchObject({format: 'k2', symbol: '*', exchange: 'BINANCE', rowsRead: 3, inserted: 3, firstTradeMicros: 1_723_161_255_342_000, lastTradeMicros: 1_723_161_255_700_000})
    const rows = await stored(warehouse)
    expect(rows.map((r) => [r.trade_id, r.symbol, r.exchange, r.price, r.quantity, r.side, r.source_sequence])).toEqual([
      ['t1', 'BTCUSDT', 'BINANCE', '61837.63000000', '0.02000000', 'SELL', '3735683259'],
      ['t2', 'BTCUSDT', 'BINANCE', '61837.64000000', '1000000000000.00000000', 'BUY', '3735683260'],
      ['t3', 'ETHUSDT', 'BINANCE', '2600.50000000', '1.50000000', null, null],
    ])
    expect(await ingestFile(warehouse, file, options)).toMatchObject({inserted: 0, duplicates: 3})
  })

  it('k2 Parquet with a TIMESTAMP column is read to the microsecond', async () => {
    const {dir, warehouse, options} = await setup()
    const file = await writeParquet(
      warehouse,
      join(dir, 'ts.parquet'),
      `SELECT 'a' AS trade_id, 'BTCUSDT' AS symbol, 'BINANCE' AS exchange, TIMESTAMP '2024-08-08 23:54:15.342123' AS "timestamp", 1.5 AS price, 2 AS quantity`,
    )
    expect(await ingestFile(warehouse, file, options)).toMatchObject({inserted: 1, firstTradeMicros: 1_723_161_255_342_123})
  })

  it('a Parquet row with a negative price is rejected naming the row; nothing stored', async () => {
    const {dir, warehouse, options} = await setup()
    const file = await writeParquet(warehouse, join(dir, 'bad.parquet'), `${ROWS} UNION ALL SELECT 't4', 'BTCUSDT', 'BINANCE', 1723161255800000, -5, 1, 'BUY', 7`)
    const error = await ingestFile(warehouse, file, options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BadInputError)
    expect((error as BadInputError).message).toBe(`${file}:row 4: price: must be > 0, got '-5.00000000'`)
    expect(await stored(warehouse)).toEqual([])

    const skipped = await ingestFile(warehouse, file, {...options, skipBadRows: true})
    expect(skipped).toMatchObject({rowsRead: 4, inserted: 3, rejected: 1, rejectsFile: join(options.rejectsDir, 'bad.parquet.rejected.csv')})
    expect(readFileSync(skipped.rejectsFile!, 'utf8').trim().split('\n')).toEqual([
      'line,field,reason,raw',
      `4,price,"must be > 0, got '-5.00000000'","t4,BTCUSDT,BINANCE,1723161255800000,-5.00000000,1.00000000,BUY,7"`,
    ])
  })

  it('a Parquet row with an unreadable timestamp is rejected; with skipBadRows the rest is stored', async () => {
    const {dir, warehouse, options} = await setup()
    const file = await writeParquet(
      warehouse,
      join(dir, 'text.parquet'),
      `SELECT * FROM (VALUES ('a', 'BTCUSDT', 'BINANCE', '1723161255342000', '1.5', '2'), ('b', 'BTCUSDT', 'BINANCE', 'soon', '1.5', '2')) v(trade_id, symbol, exchange, "timestamp", price, quantity)`,
    )
    await expect(ingestFile(warehouse, file, options)).rejects.toMatchObject({message: `${file}:row 2: timestamp: 'soon' is not microseconds since the epoch (a 16-digit whole number)`})
    expect(await ingestFile(warehouse, file, {...options, skipBadRows: true})).toMatchObject({inserted: 1, rejected: 1, firstTradeMicros: 1_723_161_255_342_000})
  })

  it('typed Parquet values are held to the text rules: a 17-digit BIGINT timestamp, a 0 quantity, 9 decimals', async () => {
    const {dir, warehouse, options} = await setup()
    const cases: [string, string][] = [
      [`10000000000000000::BIGINT AS "timestamp", 1.5 AS price, 2 AS quantity`, `timestamp: '10000000000000000' is not microseconds since the epoch (a 16-digit whole number)`],
      [`1723161255342000 AS "timestamp", 1.5 AS price, 0::DECIMAL(38,8) AS quantity`, `quantity: must be > 0, got '0.00000000'`],
      [`1723161255342000 AS "timestamp", 1.123456789::DECIMAL(18,9) AS price, 2 AS quantity`, `price: '1.123456789' has more than 8 decimal places`],
      [`1723161255342000 AS "timestamp", 10000000000::BIGINT AS price, 2 AS quantity`, `price: '10000000000' has more than 10 integer digits`],
    ]
    for (const [i, [columns, problem]] of cases.entries()) {
      const file = await writeParquet(warehouse, join(dir, `typed-${i}.parquet`), `SELECT 'a' AS trade_id, 'BTCUSDT' AS symbol, 'BINANCE' AS exchange, ${columns}`)
      await expect(ingestFile(warehouse, file, options)).rejects.toMatchObject({message: `${file}:row 1: ${problem}`})
    }
  })

  it('a Parquet file that is not k2 is a usage error', async () => {
    const {dir, warehouse, options} = await setup()
    const file = await writeParquet(warehouse, join(dir, 'other.parquet'), `SELECT 1 AS open_time, 2 AS open`)
    await expect(ingestFile(warehouse, file, options)).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/has no trade_id, symbol, exchange, timestamp, price, quantity columns/)})
    await expect(ingestFile(warehouse, file, {...options, format: 'binance'})).rejects.toMatchObject({exit: 2})
  })
})
