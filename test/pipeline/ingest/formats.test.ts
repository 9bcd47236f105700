import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {afterEach, describe, expect, it} from 'vitest'

import {BadInputError, UsageError} from '../../../src/pipeline/errors.js'
import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import type {IngestOptions} from '../../../src/pipeline/ingest/ingest-types.js'
import {Warehouse} from '../../../src/pipeline/engine/duckdb/warehouse.js'
import {hasRealData, realFile} from '../../helpers/real-data.js'
import {useTempDir} from '../../helpers/temp-home.js'

const NOW = Date.UTC(2025, 0, 2) * 1000
const tempDir = useTempDir('k2ops-ingest-')
const open: Warehouse[] = []
afterEach(() => {
  for (const w of open.splice(0)) w.close()
})

async function setup(): Promise<{dir: string; warehouse: Warehouse; options: IngestOptions; write: (name: string, text: string) => string}> {
  const dir = tempDir()
  const warehouse = await Warehouse.open(join(dir, 'w.duckdb'), {operation: 'test', lockTimeoutMs: 1000, create: true})
  open.push(warehouse)
  const write = (name: string, text: string): string => {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
  }

  return {dir, warehouse, options: {rejectsDir: join(dir, 'rejects'), nowMicros: NOW}, write}
}

async function stored(warehouse: Warehouse): Promise<Record<string, string | null>[]> {
  return warehouse.json(`SELECT trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, covered_trades, exchange_date
    FROM market_data.gold_crypto_trades ORDER BY "timestamp", trade_id`)
}

describe('ingest: formats and values', () => {
  it('spot trades from 2025 in µs (16 digits) and ms rows in the same file get exact µs timestamps', async () => {
    const {warehouse, options, write} = await setup()
    const file = write(
      'BTCUSDT-trades-2025-01-01.csv',
      [
        '4000000001,93500.01000000,0.00100000,93.50001000,1735689599999,False,True',
        '4000000002,93500.02000000,0.00200000,187.00004000,1735689600000001,True,True',
        '4000000003,93500.03000000,0.00300000,280.50009000,1735689600123456,False,True',
        '4000000004,93500.04000000,0.00400000,374.00016000,1735689601000,False,True',
      ].join('\n') + '\n',
    )
    const result = await ingestFile(warehouse, file, options)
    expect(result).toMatchObject({format: 'binance', exchange: 'BINANCE', symbol: 'BTCUSDT', inserted: 4})
    const rows = await stored(warehouse)
    expect(rows.map((r) => [r.trade_id, r.timestamp, r.exchange_date])).toEqual([
      ['4000000001', '1735689599999000', '2024-12-31'],
      ['4000000002', '1735689600000001', '2025-01-01'],
      ['4000000003', '1735689600123456', '2025-01-01'],
      ['4000000004', '1735689601000000', '2025-01-01'],
    ])
    expect(result.firstTradeMicros).toBe(1_735_689_599_999_000)
    expect(result.lastTradeMicros).toBe(1_735_689_601_000_000)
  })

  it('meme-coin quantities of 1e12 (and up to 30 integer digits) store exactly', async () => {
    const {warehouse, options, write} = await setup()
    const file = write(
      'PEPEUSDT-trades-2024-08-08.csv',
      '1,0.00000812,1000000000000.00000000,8120000.00000000,1723161255342,False,True\n' +
        '2,0.00000001,999999999999999999999999999999.99999999,1.0,1723161255343,True,True\n',
    )
    await ingestFile(warehouse, file, options)
    const rows = await stored(warehouse)
    expect(rows.map((r) => [r.price, r.quantity])).toEqual([
      ['0.00000812', '1000000000000.00000000'],
      ['0.00000001', '999999999999999999999999999999.99999999'],
    ])
    const sum = await warehouse.json<{v: string}>('SELECT sum(quantity) AS v FROM market_data.gold_crypto_trades')
    expect(sum[0].v).toBe('1000000000000000000999999999999.99999999')
  })

  it('maps header files by column NAME, not position', async () => {
    const {warehouse, options, write} = await setup()
    const file = write('BTCUSDT-trades-2024-08-08.csv', 'time,is_buyer_maker,quote_qty,qty,price,id\n1723161256322,true,370.8018,0.006,61800.30,5266583935\n')
    const result = await ingestFile(warehouse, file, {...options, exchange: 'BINANCE_USDM'})
    expect(result).toMatchObject({format: 'binance', exchange: 'BINANCE_USDM'})
    expect(await stored(warehouse)).toEqual([
      {
        trade_id: '5266583935',
        symbol: 'BTCUSDT',
        exchange: 'BINANCE_USDM',
        timestamp: '1723161256322000',
        price: '61800.30000000',
        quantity: '0.00600000',
        side: 'SELL',
        source_sequence: '5266583935',
        covered_trades: null,
        exchange_date: '2024-08-08',
      },
    ])
  })

  it('futures-style headers need --exchange (spot and futures BTCUSDT are different markets)', async () => {
    const {warehouse, options, write} = await setup()
    for (const header of ['id,price,qty,quote_qty,time,is_buyer_maker', 'id,price,qty,base_qty,time,is_buyer_maker', 'id,price,qty,time,is_buyer_maker,type']) {
      const row = header.endsWith('type') ? '1,61800.30,4,1723161256322,false,MARKET' : '1,61800.30,4,400.0,1723161256322,false'
      const file = write('BTCUSD_PERP-cm-trades-2024-08-08.csv', `${header}\n${row}\n`)
      const error = await ingestFile(warehouse, file, options).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UsageError)
      expect((error as UsageError).exit).toBe(2)
      expect((error as UsageError).message).toMatch(/BTCUSD_PERP-cm-trades-2024-08-08\.csv: .*pass --exchange, e\.g\. BINANCE_USDM or BINANCE_COINM/)
    }

    expect(await stored(warehouse)).toEqual([])
  })

  it('stores only MARKET rows where a type column exists; INSURANCE_FUND counts as skippedNonMarket', async () => {
    const {warehouse, options, write} = await setup()
    const file = write(
      'BTCUSDT-usdm-trades_2024-08-08.csv',
      'id,price,qty,time,is_buyer_maker,type\n1,61800.30,0.006,1723161256322,false,MARKET\n2,61790.00,0.500,1723161256323,true,INSURANCE_FUND\n3,61800.40,0.010,1723161256324,true,MARKET\n',
    )
    const result = await ingestFile(warehouse, file, {...options, exchange: 'BINANCE_USDM'})
    expect(result).toMatchObject({rowsRead: 3, inserted: 2, skippedNonMarket: 1, duplicates: 0, rejected: 0})
    expect((await stored(warehouse)).map((r) => r.trade_id)).toEqual(['1', '3'])
  })

  it('aggTrades with a header (futures) and headerless (spot): agg: ids, first trade id as sequence, the trades each covers', async () => {
    const {warehouse, options, write} = await setup()
    const futures = write('BTCUSDT-aggTrades-2024-08-08.csv', 'agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n77,61800.30,0.010,100,102,1723161256322,true\n')
    const spot = write('ETHBTC-aggTrades-2024-08-08.csv', '78,0.04400000,1.00000000,200,201,1723161256322,False,True\n')
    await expect(ingestFile(warehouse, futures, options)).rejects.toBeInstanceOf(UsageError)
    expect(await ingestFile(warehouse, futures, {...options, exchange: 'BINANCE_USDM'})).toMatchObject({format: 'binance-agg', inserted: 1})
    expect(await ingestFile(warehouse, spot, options)).toMatchObject({format: 'binance-agg', exchange: 'BINANCE', symbol: 'ETHBTC', inserted: 1})
    const rows = await stored(warehouse)
    expect(rows.map((r) => [r.trade_id, r.symbol, r.side, r.source_sequence, r.covered_trades])).toEqual([
      ['agg:77', 'BTCUSDT', 'SELL', '100', '3'],
      ['agg:78', 'ETHBTC', 'BUY', '200', '2'],
    ])
    // An aggTrade whose last trade id is before its first is a bad row, named by its column.
    const backwards = write('XRPETH-aggTrades-2019-10-11.csv', '79,0.00141342,23.00000000,15373518,15373517,1570752011620,True,True\n')
    await expect(ingestFile(warehouse, backwards, options)).rejects.toMatchObject({message: `${backwards}:1: lastTradeId: 15373517 is before first_trade_id 15373518`})
  })

  it('Kraken: fractional seconds to the µs, identical rows kept with ids in file order', async () => {
    const {warehouse, options, write} = await setup()
    const file = write('kraken.csv', '1672531436.5,90.54,1.1\n1672531436.5,90.54,1.1\n1672531436.500001,90.5,2\n')
    const result = await ingestFile(warehouse, file, {...options, symbol: 'BCH/EUR', exchange: 'kraken'})
    expect(result).toMatchObject({format: 'kraken', exchange: 'KRAKEN', symbol: 'BCHEUR', inserted: 3})
    expect((await stored(warehouse)).map((r) => r.trade_id)).toEqual([
      '1672531436500000:000000:90.54:1.1',
      '1672531436500000:000001:90.54:1.1',
      '1672531436500001:000000:90.5:2',
    ])
  })

  it('duplicate trade ids within one file are stored once', async () => {
    const {warehouse, options, write} = await setup()
    const file = write('BTCUSDT-trades-x.csv', '5,1.0,1.0,1.0,1723161255342,True,True\n6,1.0,1.0,1.0,1723161255342,True,True\n5,1.0,1.0,1.0,1723161255342,True,True\n')
    expect(await ingestFile(warehouse, file, options)).toMatchObject({rowsRead: 3, inserted: 2, duplicates: 1})
  })

  it('CRLF line ends, a BOM, blank lines and quoted fields are read as data', async () => {
    const {warehouse, options, write} = await setup()
    const file = write('BTCUSDT-trades-x.csv', '\uFEFFid,price,qty,time,is_buyer_maker,is_best_match\r\n1,"61837.63",0.02,1723161255342,True,True\r\n\r\n2,61837.64,0.03,1723161255343,False,True\r\n')
    expect(await ingestFile(warehouse, file, options)).toMatchObject({rowsRead: 2, inserted: 2})
    expect((await stored(warehouse)).map((r) => [r.price, r.side])).toEqual([
      ['61837.63000000', 'SELL'],
      ['61837.64000000', 'BUY'],
    ])
  })

  it('--format forces the layout; a forced format that does not fit reports the row', async () => {
    const {warehouse, options, write} = await setup()
    const file = write('BCHEUR.csv', '1672531436,90.54,1.1\n')
    expect(await ingestFile(warehouse, file, {...options, format: 'kraken', symbol: 'BCHEUR'})).toMatchObject({format: 'kraken', inserted: 1})
    const error = await ingestFile(warehouse, file, {...options, format: 'binance', symbol: 'BCHEUR'}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BadInputError)
    expect(error).toMatchObject({exit: 1, message: `${file}:1: columns: expected 7 columns, got 3`})
  })

  it('a missing file and an unknown format are usage errors (exit 2)', async () => {
    const {dir, warehouse, options, write} = await setup()
    const missing = join(dir, 'nope.csv')
    await expect(ingestFile(warehouse, missing, options)).rejects.toMatchObject({exit: 2, message: `${missing}: no such file`})
    const klines = write('ADABTC-1m-2021-11-27.csv', '1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.20000000,1637971259999,1.03547608,79,19523.00000000,0.55694227,0\n')
    await expect(ingestFile(warehouse, klines, options)).rejects.toMatchObject({exit: 2, code: 'klines_file', message: expect.stringMatching(/: a klines \(candles\) file, not trades \(/)})
    const unknown = write('ADABTC-notes.csv', '1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.20000000,0\n')
    const error = await ingestFile(warehouse, unknown, options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).message).toMatch(
      new RegExp(`^${unknown}: cannot tell the tape format \\(first line has 7 columns, no header: 1637971200000,0\\.00002853,.*\\); pass --format one of binance, binance-agg, kraken, k2$`),
    )
    const empty = write('BTCUSDT-trades-empty.csv', '')
    await expect(ingestFile(warehouse, empty, options)).rejects.toMatchObject({exit: 2, message: expect.stringContaining('the file is empty')})
    const binary = write('BTCUSDT-trades-bin.csv', Buffer.from([0, 1, 2, 3, 255, 254]).toString('latin1'))
    await expect(ingestFile(warehouse, binary, options)).rejects.toMatchObject({exit: 2, message: expect.stringContaining('cannot tell the tape format')})
  })

  it('a truncated .gz is bad input, and nothing is stored', async () => {
    const {dir, warehouse, options} = await setup()
    const text = Array.from({length: 5000}, (_, i) => `${i + 1},61837.63,0.02,1.0,${1_723_161_255_342 + i},True,True`).join('\n')
    const gz = gzipSync(text)
    const file = join(dir, 'BTCUSDT-trades-2024-08-08.csv.gz')
    writeFileSync(file, gz.subarray(0, gz.length - 100))
    const error = await ingestFile(warehouse, file, options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BadInputError)
    expect((error as BadInputError).message).toMatch(/^.*BTCUSDT-trades-2024-08-08\.csv\.gz: not a valid gzip file \(unexpected end of file\)$/)
    expect(await stored(warehouse)).toEqual([])
  })

  it.skipIf(!hasRealData)('the real USD-M klines file is not a trade tape', async () => {
    const {warehouse, options} = await setup()
    const klines = realFile('binance_usdm_BTCUSDT_2024-08-08', 'BTCUSDT-usdm-klines-1m_2024-08-08T2350Z_2024-08-09T0010Z.csv')
    await expect(ingestFile(warehouse, klines, options)).rejects.toMatchObject({exit: 2, message: expect.stringContaining('(header open_time,open,high,low,close,volume')})
  })

  it('a tape without a symbol in its name needs --symbol', async () => {
    const {warehouse, options, write} = await setup()
    const file = write('trades.csv', '1,61837.63,0.02,1.0,1723161255342,True,True\n')
    await expect(ingestFile(warehouse, file, options)).rejects.toMatchObject({exit: 2, message: `${file}: the file name does not say the symbol; pass --symbol (e.g. --symbol BTCUSDT)`})
    expect(await ingestFile(warehouse, file, {...options, symbol: 'btc-usdt'})).toMatchObject({symbol: 'BTCUSDT', inserted: 1})
  })
})
