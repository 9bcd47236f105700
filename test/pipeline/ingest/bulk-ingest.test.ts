import {createWriteStream, statSync, writeFileSync} from 'node:fs'
import {once} from 'node:events'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {describe, expect, it, vi} from 'vitest'

import type {IngestOptions, IngestResult} from '../../../src/pipeline/ingest/ingest-types.js'
import type {Warehouse} from '../../../src/pipeline/engine/duckdb/warehouse.js'

import {ingestCsvInBulk} from '../../../src/pipeline/engine/duckdb/ingest/csv-bulk.js'
import {ingestParquetInBulk} from '../../../src/pipeline/engine/duckdb/ingest/k2-parquet-bulk.js'
import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import {ingestTimeWindow} from '../../../src/pipeline/ingest/time-window.js'
import {TRADES_TABLE} from '../../../src/pipeline/schema.js'
import {useIngestWarehouse} from '../../helpers/ingest-warehouse.js'
import {hasRealData, realFile} from '../../helpers/real-data.js'

const NOW = Date.UTC(2025, 0, 2) * 1000
const setup = useIngestWarehouse(NOW)

async function writeLines(path: string, count: number, line: (i: number) => string): Promise<string> {
  const out = createWriteStream(path)
  let buffer = ''
  for (let i = 0; i < count; i++) {
    buffer += line(i) + '\n'
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await once(out, 'drain')
      buffer = ''
    }
  }

  out.end(buffer)
  await once(out, 'close')
  return path
}

/** Binance spot row i: id 3e9+i, three trades per ms. */
const binanceRow = (i: number): string =>
  `${3_000_000_000 + i},61837.${String(i % 100).padStart(2, '0')}000000,0.${String((i % 997) + 1).padStart(8, '0')},1.0,${1_723_161_255_342 + Math.floor(i / 3)},${i % 2 ? 'True' : 'False'},True`

/** Kraken row i: runs of one to four trades on one second (ids number them within the run). */
function krakenRows(count: number): string[] {
  const rows: string[] = []
  for (let second = 1_723_161_255; rows.length < count; second += 1 + (rows.length % 3)) {
    for (let j = 0; j <= rows.length % 4 && rows.length < count; j++) rows.push(`${second},${(90 + (rows.length % 1000) / 100).toFixed(6)},${(1 + j / 8).toFixed(8)}`)
  }

  return rows
}

/** Everything stored of the trades but the ingestion timestamp, as one digest, and whether the rows are stored in time order. */
async function storedTrades(warehouse: Warehouse): Promise<{n: bigint; digest: string}> {
  return warehouse.one(`SELECT count(*) AS n, md5(coalesce(string_agg(concat_ws('|', trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence,
      covered_trades, exchange_date), chr(10) ORDER BY exchange, symbol, trade_id), '')) AS digest FROM ${TRADES_TABLE}`)
}

const withoutTimestamp = ({ingestionTimestamp: _, ...rest}: IngestResult) => rest

/** The file stored in bulk and by the JS reader (K2OPS_INGEST_BULK=0): the same answer and the same rows. */
async function bothWays(file: string, given: Partial<IngestOptions> = {}) {
  const bulk = await setup()
  const bulkResult = await ingestFile(bulk.warehouse, file, {...bulk.options, ...given})
  const js = await setup()
  vi.stubEnv('K2OPS_INGEST_BULK', '0')
  const jsResult = await ingestFile(js.warehouse, file, {...js.options, ...given}).finally(() => vi.unstubAllEnvs())
  expect(withoutTimestamp(bulkResult)).toStrictEqual(withoutTimestamp(jsResult))
  expect(await storedTrades(bulk.warehouse)).toEqual(await storedTrades(js.warehouse))
  return bulkResult
}

/** Whether the bulk path itself takes the file (in a warehouse of its own), and what that leaves stored. */
async function takenInBulk(file: string, given: Partial<IngestOptions> = {}, before?: (warehouse: Warehouse, options: IngestOptions) => Promise<unknown>) {
  const {warehouse, options} = await setup()
  await before?.(warehouse, options)
  const stored = await storedTrades(warehouse)
  const all = {...options, ...given, timeWindow: ingestTimeWindow(undefined, NOW)}
  const size = statSync(file).size
  const result = file.endsWith('.parquet')
    ? await ingestParquetInBulk(warehouse, file, size, all)
    : await ingestCsvInBulk(warehouse, file, file.endsWith('.gz') ? 'gzip' : 'plain', size, all)
  return {taken: result !== undefined, unchanged: JSON.stringify(await storedTrades(warehouse), (_, v) => (typeof v === 'bigint' ? String(v) : v)) === JSON.stringify(stored, (_, v) => (typeof v === 'bigint' ? String(v) : v))}
}

describe('ingest: a tape stored in bulk by DuckDB', () => {
  it('stores a large Binance tape, plain and gzip, as the JS reader does', async () => {
    const {dir} = await setup()
    const file = await writeLines(join(dir, 'BTCUSDT-trades-2024-08-08.csv'), 300_000, binanceRow)
    const gz = join(dir, 'ETHBTC-trades-2024-08-08.csv.gz')
    writeFileSync(gz, gzipSync(Buffer.from(Array.from({length: 5000}, (_, i) => binanceRow(i)).join('\n') + '\n')))
    expect(await takenInBulk(file)).toMatchObject({taken: true})
    expect(await takenInBulk(gz)).toMatchObject({taken: true})
    expect(await bothWays(file)).toMatchObject({format: 'binance', exchange: 'BINANCE', symbol: 'BTCUSDT', rowsRead: 300_000, inserted: 300_000, duplicates: 0})
    expect(await bothWays(gz)).toMatchObject({symbol: 'ETHBTC', inserted: 5000})
  })

  it('numbers identical Kraken trades of one second in file order, as the JS reader does', async () => {
    const {dir} = await setup()
    const file = join(dir, 'kraken_BCHEUR_trades.csv')
    writeFileSync(file, krakenRows(100_000).join('\n') + '\n')
    const names = {exchange: 'kraken', symbol: 'BCHEUR'}
    expect(await takenInBulk(file, names)).toMatchObject({taken: true})
    expect(await bothWays(file, names)).toMatchObject({format: 'kraken', inserted: 100_000})
  })

  it('stores aggTrades and k2 CSV tapes (several markets, names normalised) as the JS reader does', async () => {
    const {dir} = await setup()
    const agg = join(dir, 'XRPETH-aggTrades-2019-10-11.csv')
    writeFileSync(agg, ['13519807,0.00141342,23.00000000,15373518,15373518,1570752011620,True,True', '13519808,0.00141266,54.00000000,15373519,15373521,1570752011620,False,True'].join('\n') + '\n')
    const k2 = join(dir, 'export.csv')
    writeFileSync(
      k2,
      ['trade_id,symbol,exchange,timestamp,price,quantity,side,source_sequence', 't1,BTCUSDT,BINANCE,1723161255342000,61837.63,0.02,sell,3735683259', 't2,btc/usdt,binance,1723161255617123,61837.64000000,1000000000000,BUY,', 't3,ETHUSDT,KRAKEN,1723161255700000,2600.5,1.5,,'].join('\n') + '\n',
    )
    expect(await takenInBulk(agg)).toMatchObject({taken: true})
    expect(await takenInBulk(k2)).toMatchObject({taken: true})
    expect(await bothWays(agg)).toMatchObject({format: 'binance-agg', inserted: 2})
    expect(await bothWays(k2)).toMatchObject({format: 'k2', exchange: '*', symbol: '*', inserted: 3})
  })

  it.skipIf(!hasRealData)('stores the real Binance and Kraken tapes as the JS reader does', async () => {
    const spot = realFile('binance_spot_BTCUSDT_2024-08-08', 'BTCUSDT-spot-trades_2024-08-08T235415Z_2024-08-09T000505Z.csv')
    const agg = realFile('binance_spot_XRPETH_2019-10-11', 'XRPETH-aggTrades_2019-10-11T000011Z_2019-10-13T111928Z.csv')
    const kraken = realFile('kraken_BCHEUR_2023-01', 'kraken_BCHEUR_trades_part1.csv')
    const names = {exchange: 'kraken', symbol: 'BCHEUR'}
    expect([await takenInBulk(spot), await takenInBulk(agg), await takenInBulk(kraken, names)].map((t) => t.taken)).toEqual([true, true, true])
    await bothWays(spot)
    await bothWays(agg)
    await bothWays(kraken, names)
  })

  it('leaves to the JS reader, untouched, a tape out of time order, with a repeated id, or overlapping stored trades', async () => {
    const {dir} = await setup()
    const rows = Array.from({length: 2000}, (_, i) => binanceRow(i))
    const shuffled = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
    // Out of order throughout (a few sorted runs would be stored as runs, as DuckDB's own parallel writer does).
    writeFileSync(shuffled, rows.map((_, i) => rows[(i * 7919) % rows.length]).join('\n') + '\n')
    const repeated = join(dir, 'ETHBTC-trades-2024-08-08.csv')
    writeFileSync(repeated, [...rows, rows[0]].join('\n') + '\n')
    const ordered = join(dir, 'SOLBTC-trades-2024-08-08.csv')
    writeFileSync(ordered, rows.join('\n') + '\n')

    expect(await takenInBulk(shuffled)).toEqual({taken: false, unchanged: true})
    expect(await takenInBulk(repeated)).toEqual({taken: false, unchanged: true})
    // Stored already: the same file again is all duplicates.
    expect(await takenInBulk(ordered, {}, (warehouse, options) => ingestFile(warehouse, ordered, options))).toEqual({taken: false, unchanged: true})

    const {warehouse, options} = await setup()
    expect(await ingestFile(warehouse, shuffled, options)).toMatchObject({inserted: 2000, duplicates: 0})
    const order = await warehouse.one<{descents: bigint}>(`SELECT count(*) FILTER (WHERE d < 0) AS descents FROM (SELECT "timestamp" - lag("timestamp") OVER (ORDER BY rowid) AS d FROM ${TRADES_TABLE})`)
    expect(order.descents).toBe(0n)
    expect(await bothWays(repeated)).toMatchObject({rowsRead: 2001, inserted: 2000, duplicates: 1})
    expect(await ingestFile(warehouse, shuffled, options)).toMatchObject({inserted: 0, duplicates: 2000})
  })

  it('names the first bad line of a large tape exactly, and stores nothing from it', async () => {
    const {dir, warehouse, options} = await setup()
    const file = await writeLines(join(dir, 'BTCUSDT-trades-2024-08-08.csv'), 200_000, (i) => (i === 150_000 ? binanceRow(i).replace(',0.', ',-0.') : binanceRow(i)))
    await expect(ingestFile(warehouse, file, options)).rejects.toThrow(`${file}:150001: qty: must be > 0, got '-0.${String((150_000 % 997) + 1).padStart(8, '0')}'`)
    expect(await storedTrades(warehouse)).toMatchObject({n: 0n})
  })

  it('stores a k2 Parquet tape of many row groups as the staged way does, and leaves an unordered one to it', async () => {
    const {dir, warehouse} = await setup()
    const trades = (order: string) => `SELECT 't' || i AS trade_id, CASE WHEN i % 2 = 0 THEN 'BTCUSDT' ELSE 'eth/usdt' END AS symbol, 'binance' AS exchange,
        1723161255342000 + i * 1000 AS "timestamp", CAST(61837.63 + i % 100 AS DECIMAL(18,8)) AS price, CAST(0.02 AS DECIMAL(38,8)) AS quantity,
        CASE WHEN i % 3 = 0 THEN 'SELL' ELSE 'BUY' END AS side, i AS source_sequence FROM range(200000) t(i) ORDER BY ${order}`
    const ordered = join(dir, 'trades.parquet')
    const unordered = join(dir, 'shuffled.parquet')
    await warehouse.run(`COPY (${trades('i')}) TO '${ordered}' (FORMAT parquet, ROW_GROUP_SIZE 20000)`)
    await warehouse.run(`COPY (${trades('hash(i)')}) TO '${unordered}' (FORMAT parquet, ROW_GROUP_SIZE 20000)`)

    expect(await takenInBulk(ordered)).toMatchObject({taken: true})
    expect(await bothWays(ordered)).toMatchObject({format: 'k2', exchange: 'BINANCE', symbol: '*', rowsRead: 200_000, inserted: 200_000})
    expect(await takenInBulk(unordered)).toEqual({taken: false, unchanged: true})
    expect(await takenInBulk(ordered, {}, (w, options) => ingestFile(w, ordered, options))).toEqual({taken: false, unchanged: true})
    expect(await bothWays(unordered)).toMatchObject({inserted: 200_000})
  })
})
