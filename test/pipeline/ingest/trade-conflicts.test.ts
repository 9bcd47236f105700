import {readFileSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'

import {BadInputError} from '../../../src/pipeline/errors.js'
import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import {Warehouse} from '../../../src/pipeline/engine/duckdb/warehouse.js'
import {hasRealData, realFile} from '../../helpers/real-data.js'
import {useIngestWarehouse} from '../../helpers/ingest-warehouse.js'

const NOW = Date.UTC(2025, 0, 2) * 1000
const setup = useIngestWarehouse(NOW)
const USDM = realFile('binance_usdm_BTCUSDT_2024-08-08', 'BTCUSDT-usdm-trades_2024-08-08T235416Z_2024-08-08T235959Z.csv')
const KRAKEN_1 = realFile('kraken_BCHEUR_2023-01', 'kraken_BCHEUR_trades_part1.csv')

async function count(warehouse: Warehouse): Promise<number> {
  return Number((await warehouse.one<{n: bigint}>('SELECT count(*) AS n FROM market_data.gold_crypto_trades')).n)
}

/** A binance-vision spot row: id, price, qty, time (ms). */
const spot = (id: number, price = '61837.63000000', qty = '0.02000000', time = 1_723_161_255_342) => `${id},${price},${qty},1.0,${time},True,True`

function write(dir: string, name: string, lines: string[]): string {
  const path = join(dir, name)
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

async function rejection(promise: Promise<unknown>): Promise<BadInputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BadInputError)
  expect((error as BadInputError).exit).toBe(1)
  return error as BadInputError
}

describe('ingest: a trade id stored again with other values is a conflict', () => {
  it.each([
    ['time', spot(1001, undefined, undefined, 1_723_161_299_000)],
    ['price', spot(1001, '61837.64000000')],
    ['quantity', spot(1001, undefined, '0.02100000')],
    ['time/price/quantity', spot(1001, '1.00000000', '5.00000000', 1_723_161_000_000)],
  ])('a different %s: the second file is rejected whole, naming the first', async (fields, changed) => {
    const {dir, warehouse, options} = await setup()
    const first = write(dir, 'BTCUSDT-trades-2024-08-08.csv', [spot(1000), spot(1001), spot(1002)])
    await ingestFile(warehouse, first, options)
    const second = write(dir, 'BTCUSDT-trades-2024-08-08-fixed.csv', [spot(1003), changed, spot(1004)])
    const error = await rejection(ingestFile(warehouse, second, options))
    expect(error.message).toBe(`${second}:2: trade_id: 1001 already stored with a different ${fields} (first stored from ${resolve(first)})`)
    expect(await count(warehouse)).toBe(3)
  })

  it('the same values again are duplicates: skipped and counted, in another file too', async () => {
    const {dir, warehouse, options} = await setup()
    await ingestFile(warehouse, write(dir, 'BTCUSDT-trades-2024-08-08.csv', [spot(1000), spot(1001)]), options)
    // 61837.63 and 61837.63000000 are the same price.
    const again = write(dir, 'BTCUSDT-trades-2024-08-08-again.csv', [spot(1001, '61837.63', '0.02'), spot(1002)])
    expect(await ingestFile(warehouse, again, options)).toMatchObject({inserted: 1, duplicates: 1})
  })

  it('the same id on another symbol or exchange is another trade', async () => {
    const {dir, warehouse, options} = await setup()
    await ingestFile(warehouse, write(dir, 'BTCUSDT-trades-2024-08-08.csv', [spot(1001)]), options)
    expect(await ingestFile(warehouse, write(dir, 'ETHUSDT-trades-2024-08-08.csv', [spot(1001, '2600.00000000')]), options)).toMatchObject({inserted: 1})
    const futures = write(dir, 'BTCUSDT-futures.csv', ['id,price,qty,quote_qty,time,is_buyer_maker', '1001,61000.1,0.5,1,1723161255342,true'])
    expect(await ingestFile(warehouse, futures, {...options, exchange: 'BINANCE_USDM'})).toMatchObject({inserted: 1})
  })

  it('a k2 Parquet tape names the row; a k2 CSV with several markets is checked per market', async () => {
    const {dir, warehouse, options} = await setup()
    const csv = write(dir, 'export.csv', ['trade_id,symbol,exchange,timestamp,price,quantity', 't1,BTCUSDT,BINANCE,1723161255342000,1.5,2', 't1,ETHUSDT,BINANCE,1723161255342000,7,2'])
    expect(await ingestFile(warehouse, csv, options)).toMatchObject({inserted: 2})
    const parquet = join(dir, 'tape.parquet')
    await warehouse.run(`COPY (SELECT * FROM (VALUES ('t0', 'BTCUSDT', 1723161255000000, 1.5), ('t1', 'ETHUSDT', 1723161255342000, 7.5))
        AS v(trade_id, symbol, "timestamp", price), (SELECT 'BINANCE' AS exchange, 2::DECIMAL(38,8) AS quantity)) TO '${parquet}' (FORMAT parquet)`)
    const error = await rejection(ingestFile(warehouse, parquet, {...options, format: 'k2'}))
    expect(error.message).toBe(`${parquet}:row 2: trade_id: t1 already stored with a different price (first stored from ${resolve(csv)})`)
    expect(await count(warehouse)).toBe(2)
  })

  it('rows stored before k2ops logged source files: the message says the file is not recorded', async () => {
    const {dir, warehouse, options} = await setup()
    await ingestFile(warehouse, write(dir, 'BTCUSDT-trades-2024-08-08.csv', [spot(1001)]), options)
    // A warehouse from before the ingest log: no table, and so no entry for its rows.
    await warehouse.run('DROP TABLE k2ops_meta.ingested_files')
    await warehouse.ensureSchema()
    const second = write(dir, 'BTCUSDT-trades-2024-08-08-b.csv', [spot(1001, '2.00000000')])
    const error = await rejection(ingestFile(warehouse, second, options))
    expect(error.message).toBe(`${second}:1: trade_id: 1001 already stored with a different price (first stored at 2025-01-02T00:00:00Z; its source file was not recorded)`)
  })

  it('within one file: a repeat with other values is rejected, across time slices too; an identical repeat is a duplicate', async () => {
    const {dir, warehouse, options} = await setup()
    const header = 'trade_id,symbol,exchange,timestamp,price,quantity'
    const far = write(dir, 'export.csv', [header, 't1,BTCUSDT,BINANCE,1723161255342000,1.5,2', 't2,BTCUSDT,BINANCE,1723161255400000,1.5,2', 't1,BTCUSDT,BINANCE,1723247655342000,1.5,2'])
    for (const sliceRows of [undefined, 1]) {
      const error = await rejection(ingestFile(warehouse, far, {...options, sliceRows}))
      expect(error.message).toBe(`${far}:4: trade_id: t1 repeats line 2 with a different time`)
    }

    // Binance ids out of order (so the file may repeat one), with skipped lines before the repeat.
    const shuffled = write(dir, 'BTCUSDT-trades-2024-08-08.csv', [spot(1002), spot(1001), '', spot(1003, '0'), spot(1001, undefined, '9.00000000')])
    const error = await rejection(ingestFile(warehouse, shuffled, {...options, skipBadRows: true}))
    expect(error.message).toBe(`${shuffled}:5: trade_id: 1001 repeats line 2 with a different quantity`)
    expect(await count(warehouse)).toBe(0)

    const identical = write(dir, 'BTCUSDT-trades-2024-08-09.csv', [spot(1002), spot(1001), spot(1001, '61837.630')])
    expect(await ingestFile(warehouse, identical, options)).toMatchObject({inserted: 2, duplicates: 1})
  })

  it.skipIf(!hasRealData)('a real USD-M tape corrected in one row is rejected at that row; the same tape again is all duplicates', async () => {
    const {dir, warehouse, options} = await setup()
    const usdm = {...options, exchange: 'BINANCE_USDM'}
    await ingestFile(warehouse, USDM, usdm)
    const lines = readFileSync(USDM, 'utf8').split('\n')
    const copy = join(dir, 'BTCUSDT-usdm-trades-copy.csv')
    writeFileSync(copy, lines.join('\n'))
    expect(await ingestFile(warehouse, copy, usdm)).toMatchObject({inserted: 0, duplicates: 21_313})
    const fields = lines[10_000].split(',')
    fields[3] = String(Number(fields[3]) + 1)
    lines[10_000] = fields.join(',')
    writeFileSync(copy, lines.join('\n'))
    const error = await rejection(ingestFile(warehouse, copy, usdm))
    expect(error.message).toBe(`${copy}:10001: trade_id: ${fields[0]} already stored with a different time (first stored from ${USDM})`)
    expect(await count(warehouse)).toBe(21_313)
  })

  it.skipIf(!hasRealData)('Kraken rows (synthesised ids) never conflict: the same file again is all duplicates', async () => {
    const {warehouse, options} = await setup()
    const kraken = {...options, symbol: 'BCHEUR'}
    expect(await ingestFile(warehouse, KRAKEN_1, kraken)).toMatchObject({inserted: 148})
    expect(await ingestFile(warehouse, KRAKEN_1, kraken)).toMatchObject({inserted: 0, duplicates: 148})
  })
})
