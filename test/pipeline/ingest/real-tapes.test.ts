import {copyFileSync, readFileSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {crc32, deflateRawSync, gzipSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'

import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import {Warehouse} from '../../../src/pipeline/engine/duckdb/warehouse.js'
import {hasRealData, realFile} from '../../helpers/real-data.js'
import {useIngestWarehouse} from '../../helpers/ingest-warehouse.js'

const USDM = realFile('binance_usdm_BTCUSDT_2024-08-08', 'BTCUSDT-usdm-trades_2024-08-08T235416Z_2024-08-08T235959Z.csv')
const SPOT = realFile('binance_spot_BTCUSDT_2024-08-08', 'BTCUSDT-spot-trades_2024-08-08T235415Z_2024-08-09T000505Z.csv')
const SPOT_VISION = realFile('binance_spot_BTCUSDT_2024-08-08', 'BTCUSDT-spot-trades_2024-08-08T235415Z_2024-08-09T000505Z.binance-vision-layout.csv')
const COINM = realFile('binance_cm_BTCUSD_PERP_2024-08-08', 'BTCUSD_PERP-cm-trades_2024-08-08T235417Z_2024-08-09T000504Z.csv')
const AGG = realFile('binance_spot_XRPETH_2019-10-11', 'XRPETH-aggTrades_2019-10-11T000011Z_2019-10-13T111928Z.csv')
const KRAKEN_1 = realFile('kraken_BCHEUR_2023-01', 'kraken_BCHEUR_trades_part1.csv')
const KRAKEN_2 = realFile('kraken_BCHEUR_2023-01', 'kraken_BCHEUR_trades_part2_incremental.csv')

const NOW = Date.UTC(2025, 0, 1) * 1000
const setup = useIngestWarehouse(NOW)

async function stored(warehouse: Warehouse, where = 'true'): Promise<Record<string, string | null>[]> {
  return warehouse.json(`SELECT trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, exchange_date
    FROM market_data.gold_crypto_trades WHERE ${where} ORDER BY "timestamp", source_sequence, trade_id`)
}

async function count(warehouse: Warehouse): Promise<number> {
  const row = await warehouse.one<{n: bigint}>('SELECT count(*) AS n FROM market_data.gold_crypto_trades')
  return Number(row.n)
}

/** A one-entry zip (deflate), written here so CI needs no zip tool. */
function writeZip(path: string, entryName: string, content: Buffer): void {
  const data = deflateRawSync(content)
  const name = Buffer.from(entryName)
  const crc = crc32(content)
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(20, 4)
  local.writeUInt16LE(8, 8)
  local.writeUInt32LE(crc, 14)
  local.writeUInt32LE(data.length, 18)
  local.writeUInt32LE(content.length, 22)
  local.writeUInt16LE(name.length, 26)
  const central = Buffer.alloc(46)
  central.writeUInt32LE(0x02014b50, 0)
  central.writeUInt16LE(20, 4)
  central.writeUInt16LE(20, 6)
  central.writeUInt16LE(8, 10)
  central.writeUInt32LE(crc, 16)
  central.writeUInt32LE(data.length, 20)
  central.writeUInt32LE(content.length, 24)
  central.writeUInt16LE(name.length, 28)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(1, 8)
  end.writeUInt16LE(1, 10)
  end.writeUInt32LE(central.length + name.length, 12)
  end.writeUInt32LE(local.length + name.length + data.length, 16)
  writeFileSync(path, Buffer.concat([local, name, data, central, name, end]))
}

describe.skipIf(!hasRealData)('ingest real Binance and Kraken tapes', () => {
  it('USD-M futures trades: needs --exchange, then 21,313 trades with the right times', async () => {
    const {warehouse, options} = await setup()
    await expect(ingestFile(warehouse, USDM, options)).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/--exchange.*BINANCE_USDM/)})
    const result = await ingestFile(warehouse, USDM, {...options, exchange: 'binance_usdm'})
    expect(result).toMatchObject({
      format: 'binance',
      exchange: 'BINANCE_USDM',
      symbol: 'BTCUSDT',
      rowsRead: 21_313,
      inserted: 21_313,
      duplicates: 0,
      skippedNonMarket: 0,
      rejected: 0,
      firstTradeMicros: 1_723_161_256_322_000,
      lastTradeMicros: 1_723_161_599_643_000,
      ingestionTimestamp: NOW,
    })
    const [first] = await stored(warehouse, `trade_id = '5266583935'`)
    expect(first).toEqual({
      trade_id: '5266583935',
      symbol: 'BTCUSDT',
      exchange: 'BINANCE_USDM',
      timestamp: '1723161256322000',
      price: '61800.30000000',
      quantity: '0.00600000',
      side: 'BUY',
      source_sequence: '5266583935',
      exchange_date: '2024-08-08',
    })
  })

  it('COIN-M futures trades: 5,235 trades, symbol BTCUSD_PERP from the file name', async () => {
    const {warehouse, options} = await setup()
    const result = await ingestFile(warehouse, COINM, {...options, exchange: 'BINANCE_COINM'})
    expect(result).toMatchObject({format: 'binance', exchange: 'BINANCE_COINM', symbol: 'BTCUSD_PERP', rowsRead: 5235, inserted: 5235})
    expect(result.firstTradeMicros).toBe(1_723_161_257_679_000)
    expect(result.lastTradeMicros).toBe(1_723_161_904_776_000)
    const sides = await warehouse.json<{side: string; n: string}>(`SELECT side, count(*) AS n FROM market_data.gold_crypto_trades GROUP BY side ORDER BY side`)
    expect(sides.map((s) => s.side)).toEqual(['BUY', 'SELL'])
  })

  it('spot header CSV and its binance-vision twin store identical trades', async () => {
    const a = await setup()
    const b = await setup()
    const header = await ingestFile(a.warehouse, SPOT, a.options)
    const vision = await ingestFile(b.warehouse, SPOT_VISION, b.options)
    for (const result of [header, vision]) {
      expect(result).toMatchObject({
        format: 'binance',
        exchange: 'BINANCE',
        symbol: 'BTCUSDT',
        rowsRead: 19_904,
        inserted: 19_904,
        firstTradeMicros: 1_723_161_255_342_000,
        lastTradeMicros: 1_723_161_905_800_000,
      })
    }

    const fromHeader = await stored(a.warehouse)
    expect(fromHeader).toHaveLength(19_904)
    expect(await stored(b.warehouse)).toEqual(fromHeader)
    // is_buyer_maker=True means the taker sold.
    expect(fromHeader[0]).toMatchObject({trade_id: '3735683259', price: '61837.63000000', quantity: '0.02000000', side: 'SELL'})
    const days = await a.warehouse.json<{d: string}>('SELECT DISTINCT exchange_date AS d FROM market_data.gold_crypto_trades ORDER BY d')
    expect(days.map((r) => r.d)).toEqual(['2024-08-08', '2024-08-09'])
  })

  it('XRPETH aggTrades: 12,477 agg trades with agg: ids and first trade id as sequence', async () => {
    const {warehouse, options} = await setup()
    const result = await ingestFile(warehouse, AGG, options)
    expect(result).toMatchObject({format: 'binance-agg', exchange: 'BINANCE', symbol: 'XRPETH', rowsRead: 12_477, inserted: 12_477})
    expect(result.firstTradeMicros).toBe(1_570_752_011_620_000)
    expect(result.lastTradeMicros).toBe(1_570_965_568_844_000)
    const [first] = await stored(warehouse, `trade_id = 'agg:13519807'`)
    expect(first).toMatchObject({price: '0.00141342', quantity: '23.00000000', side: 'SELL', source_sequence: '15373518', timestamp: '1570752011620000'})
  })

  it('Kraken: every row is kept, identical rows included (148 and 486), side NULL', async () => {
    const {warehouse, options} = await setup()
    const one = await ingestFile(warehouse, KRAKEN_1, {...options, symbol: 'BCH/EUR'})
    const two = await ingestFile(warehouse, KRAKEN_2, {...options, symbol: 'BCH/EUR'})
    expect(one).toMatchObject({format: 'kraken', exchange: 'KRAKEN', symbol: 'BCHEUR', rowsRead: 148, inserted: 148, duplicates: 0})
    expect(two).toMatchObject({format: 'kraken', rowsRead: 486, inserted: 486, duplicates: 0})
    expect(one.firstTradeMicros).toBe(1_672_531_436_000_000)
    expect(two.lastTradeMicros).toBe(1_672_701_423_000_000)
    expect(two.ingestionTimestamp).toBeGreaterThan(one.ingestionTimestamp)
    expect(await count(warehouse)).toBe(634)
    const [row] = await stored(warehouse, `"timestamp" = 1672531436000000`)
    expect(row).toMatchObject({trade_id: '1672531436000000:000000:90.540000:1.10448420', side: null, source_sequence: null, price: '90.54000000'})
    // The identical rows of part 2 are stored as separate fills, numbered in file order.
    const twins = await warehouse.json<{n: string}>(`SELECT count(*) AS n FROM market_data.gold_crypto_trades
      GROUP BY "timestamp", price, quantity HAVING count(*) > 1`)
    expect(twins.length).toBeGreaterThan(0)
  })

  it('Kraken without --symbol is a usage error naming the file and the flag', async () => {
    const {warehouse, options} = await setup()
    await expect(ingestFile(warehouse, KRAKEN_1, options)).rejects.toMatchObject({
      exit: 2,
      message: expect.stringMatching(new RegExp(`${basename(KRAKEN_1)}.*--symbol`)),
    })
  })

  it('re-ingesting a file inserts nothing and counts every row as a duplicate (Binance and Kraken)', async () => {
    const {warehouse, options} = await setup()
    const kraken = {...options, symbol: 'BCHEUR'}
    await ingestFile(warehouse, SPOT, options)
    await ingestFile(warehouse, KRAKEN_2, kraken)
    const spotAgain = await ingestFile(warehouse, SPOT, options)
    const visionAgain = await ingestFile(warehouse, SPOT_VISION, options)
    const krakenAgain = await ingestFile(warehouse, KRAKEN_2, kraken)
    expect(spotAgain).toMatchObject({rowsRead: 19_904, inserted: 0, duplicates: 19_904})
    expect(visionAgain).toMatchObject({inserted: 0, duplicates: 19_904})
    expect(krakenAgain).toMatchObject({rowsRead: 486, inserted: 0, duplicates: 486})
    expect(await count(warehouse)).toBe(19_904 + 486)
  })

  it('ingestion_timestamp never goes backwards, even when the clock does', async () => {
    const {warehouse, options} = await setup()
    const first = await ingestFile(warehouse, KRAKEN_1, {...options, symbol: 'BCHEUR'})
    const second = await ingestFile(warehouse, KRAKEN_2, {...options, symbol: 'BCHEUR', nowMicros: NOW - 3_600_000_000})
    expect(first.ingestionTimestamp).toBe(NOW)
    expect(second.ingestionTimestamp).toBe(NOW + 1)
  })

  it('.gz and .zip copies ingest exactly like the plain file', async () => {
    const {dir, warehouse, options} = await setup()
    const plain = readFileSync(SPOT)
    const gz = join(dir, 'BTCUSDT-spot-trades-2024-08-08.csv.gz')
    const zip = join(dir, 'BTCUSDT-spot-trades-2024-08-08.zip')
    writeFileSync(gz, gzipSync(plain))
    writeZip(zip, 'BTCUSDT-spot-trades-2024-08-08.csv', plain)
    const progress: number[] = []

    const fromGz = await ingestFile(warehouse, gz, {...options, onProgress: (p) => progress.push(p.bytesRead / p.totalBytes)})
    expect(fromGz).toMatchObject({format: 'binance', symbol: 'BTCUSDT', rowsRead: 19_904, inserted: 19_904})
    expect(progress.at(-1)).toBe(1)
    const fromGzRows = await stored(warehouse)

    const other = await setup()
    const fromZip = await ingestFile(other.warehouse, zip, other.options)
    expect(fromZip).toMatchObject({format: 'binance', symbol: 'BTCUSDT', rowsRead: 19_904, inserted: 19_904})
    expect(await stored(other.warehouse)).toEqual(fromGzRows)

    const third = await setup()
    copyFileSync(SPOT, join(third.dir, 'BTCUSDT-spot.csv'))
    await ingestFile(third.warehouse, join(third.dir, 'BTCUSDT-spot.csv'), third.options)
    expect(await stored(third.warehouse)).toEqual(fromGzRows)
    // The zip is the same file to the dedup key: nothing new.
    expect(await ingestFile(warehouse, zip, options)).toMatchObject({inserted: 0, duplicates: 19_904})
  })
})
