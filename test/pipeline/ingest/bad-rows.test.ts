import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {BadInputError} from '../../../src/pipeline/errors.js'
import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import type {IngestOptions} from '../../../src/pipeline/ingest/ingest-types.js'
import {Warehouse} from '../../../src/pipeline/engine/duckdb/warehouse.js'
import {useTempDir} from '../../helpers/temp-home.js'

const NOW = Date.UTC(2025, 0, 2) * 1000
const tempDir = useTempDir('k2ops-ingest-')
const open: Warehouse[] = []
afterEach(() => {
  for (const w of open.splice(0)) w.close()
})

async function setup(): Promise<{dir: string; warehouse: Warehouse; options: IngestOptions; write: (name: string, lines: string[]) => string}> {
  const dir = tempDir()
  const warehouse = await Warehouse.open(join(dir, 'w.duckdb'), {operation: 'test', lockTimeoutMs: 1000, create: true})
  open.push(warehouse)
  const write = (name: string, lines: string[]): string => {
    const path = join(dir, name)
    writeFileSync(path, lines.join('\n') + '\n')
    return path
  }

  return {dir, warehouse, options: {rejectsDir: join(dir, 'rejects'), nowMicros: NOW}, write}
}

async function count(warehouse: Warehouse): Promise<number> {
  return Number((await warehouse.one<{n: bigint}>('SELECT count(*) AS n FROM market_data.gold_crypto_trades')).n)
}

const good = (id: number) => `${id},61837.63000000,0.02000000,1236.75260000,${1_723_161_255_342 + id},True,True`

/** [bad line (binance-vision spot layout), expected `field: reason`] */
const BAD_ROWS: [string, string][] = [
  ['12,abc,0.02,1.0,1723161255354,True,True', "price: 'abc' is not a decimal number"],
  ['12,-5,0.02,1.0,1723161255354,True,True', "price: must be > 0, got '-5'"],
  ['12,0.00000000,0.02,1.0,1723161255354,True,True', "price: must be > 0, got '0.00000000'"],
  ['12,61837.63,0,1.0,1723161255354,True,True', "qty: must be > 0, got '0'"],
  ['12,61837.63,-0.5,1.0,1723161255354,True,True', "qty: must be > 0, got '-0.5'"],
  ['12,61837.63,0.02,1.0,2024-08-08T23:54:15Z,True,True', "time: '2024-08-08T23:54:15Z' is not a whole number of ms or µs"],
  ['12,61837.63,0.02,1.0,,True,True', 'time: is empty'],
  ['12,61837.63,0.02,1723161255354,True,True', 'columns: expected 7 columns, got 6'],
  ['12,61837.63,0.02,1.0,1723161255354,True,True,extra', 'columns: expected 7 columns, got 8'],
  ['12,61837.123456789,0.02,1.0,1723161255354,True,True', "price: '61837.123456789' has more than 8 decimal places"],
  ['12,61837.63,0.000000001,1.0,1723161255354,True,True', "qty: '0.000000001' has more than 8 decimal places"],
  ['12,12345678901.5,0.02,1.0,1723161255354,True,True', "price: '12345678901.5' has more than 10 integer digits"],
  ['12,61837.63,0.02,1.0,1723161255354,maybe,True', "isBuyerMaker: expected true or false, got 'maybe'"],
  ['x12,61837.63,0.02,1.0,1723161255354,True,True', "id: 'x12' is not a whole number"],
]

describe('ingest: bad rows', () => {
  it.each(BAD_ROWS)('%s → BadInputError FILE:LINE: %s, nothing stored', async (bad, expected) => {
    const {warehouse, options, write} = await setup()
    await ingestFile(warehouse, write('BTCUSDT-trades-2024-08-07.csv', [good(1)]), options)
    const file = write('BTCUSDT-trades-2024-08-08.csv', [good(10), good(11), bad, good(13)])
    const error = await ingestFile(warehouse, file, options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BadInputError)
    expect((error as BadInputError).exit).toBe(1)
    expect((error as BadInputError).message).toBe(`${file}:3: ${expected}`)
    expect(await count(warehouse)).toBe(1)
    // The staging table is gone and the warehouse still takes the next file.
    expect(await ingestFile(warehouse, write('BTCUSDT-trades-2024-08-09.csv', [good(20)]), options)).toMatchObject({inserted: 1})
  })

  it('line numbers count the header and blank lines (physical lines)', async () => {
    const {warehouse, options, write} = await setup()
    const file = write('BTCUSDT-trades-2024-08-08.csv', ['id,price,qty,time,is_buyer_maker,is_best_match', '1,1.5,2,1723161255342,True,True', '', '2,1.5,2,1723161255343,True,True', '3,1.5,zero,1723161255344,True,True'])
    await expect(ingestFile(warehouse, file, options)).rejects.toMatchObject({message: `${file}:5: qty: 'zero' is not a decimal number`})
  })

  it('Kraken bad rows name the Kraken columns', async () => {
    const {warehouse, options, write} = await setup()
    const file = write('kraken.csv', ['1672531436,90.54,1.1', '1672531437,90.54,-1'])
    await expect(ingestFile(warehouse, file, {...options, symbol: 'BCHEUR'})).rejects.toMatchObject({message: `${file}:2: volume: must be > 0, got '-1'`})
  })

  it('with skipBadRows the good rows are stored and every bad one is listed with its line', async () => {
    const {warehouse, options, write} = await setup()
    const lines = [good(1)]
    for (const [bad] of BAD_ROWS) lines.push(bad, good(lines.length + 1))
    const file = write('BTCUSDT-trades-2024-08-08.csv', lines)
    const result = await ingestFile(warehouse, file, {...options, skipBadRows: true})
    expect(result).toMatchObject({rowsRead: lines.length, inserted: BAD_ROWS.length + 1, rejected: BAD_ROWS.length, duplicates: 0})
    expect(result.rejectsFile).toBe(join(options.rejectsDir, 'BTCUSDT-trades-2024-08-08.csv.rejected.csv'))
    const rejects = readFileSync(result.rejectsFile!, 'utf8').trimEnd().split('\n')
    expect(rejects[0]).toBe('line,field,reason,raw')
    expect(rejects).toHaveLength(BAD_ROWS.length + 1)
    for (const [i, [bad, expected]] of BAD_ROWS.entries()) {
      const field = expected.slice(0, expected.indexOf(':'))
      expect(rejects[i + 1].startsWith(`${2 * i + 2},${field},`), rejects[i + 1]).toBe(true)
      expect(rejects[i + 1].endsWith(`,"${bad}"`), rejects[i + 1]).toBe(true)
    }

    expect(await count(warehouse)).toBe(BAD_ROWS.length + 1)
  })

  it('with skipBadRows and no bad row there is no rejects file', async () => {
    const {warehouse, options, write} = await setup()
    const result = await ingestFile(warehouse, write('BTCUSDT-trades-2024-08-08.csv', [good(1)]), {...options, skipBadRows: true})
    expect(result).toMatchObject({rejected: 0, rejectsFile: undefined})
    expect(existsSync(options.rejectsDir)).toBe(false)
  })
})
