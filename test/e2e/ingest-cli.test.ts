import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {Warehouse} from '../../src/pipeline/warehouse.js'
import {k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'

const GOOD = ['3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342,True,True', '3735683260,61837.63000000,0.04800000,2968.20624000,1723161255617,True,True']

async function storedTrades(home: string): Promise<number> {
  const warehouse = await Warehouse.open(join(home, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 5000, readOnly: true})
  try {
    return Number((await warehouse.one<{n: bigint}>('SELECT count(*) AS n FROM market_data.gold_crypto_trades')).n)
  } finally {
    warehouse.close()
  }
}

describe('k2ops ingest', () => {
  const tempDir = useTempDir()

  it('rejects a file with a bad row whole, naming file, line and field, with exit 1', async () => {
    const dir = tempDir()
    const home = join(dir, 'home')
    const tape = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
    writeFileSync(tape, [...GOOD, '3735683261,abc,0.00009000,5.56538670,1723161255617,True,True'].join('\n') + '\n')
    const result = await k2ops(['ingest', tape, '--home', home])
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain(`k2ops: ${tape}:3: price:`)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(await storedTrades(home)).toBe(0)
    const json = await k2ops(['ingest', tape, '--home', home, '--json'])
    expect(json.exitCode).toBe(1)
    expect(json.json.error).toMatchObject({code: 'bad_input', exit: 1, message: expect.stringContaining(`${tape}:3: price:`)})
  })

  it('with --skip-bad-rows stores the good rows and writes the bad ones with reasons to the home', async () => {
    const dir = tempDir()
    const home = join(dir, 'home')
    const tape = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
    writeFileSync(tape, [...GOOD, '3735683261,61837.63000000,-1,5.56538670,1723161255617,True,True'].join('\n') + '\n')
    const result = await k2ops(['ingest', tape, '--skip-bad-rows', '--home', home, '--json'])
    expect(result.exitCode).toBe(0)
    expect(result.json).toEqual({files: [expect.any(Object)], inserted: 2, duplicates: 0, rejected: 1})
    const [file] = result.json.files
    expect(Object.keys(file).sort()).toEqual(
      ['duplicates', 'exchange', 'file', 'firstTrade', 'format', 'ingestedAt', 'inserted', 'lastTrade', 'rejected', 'rejectsFile', 'rowsRead', 'skippedNonMarket', 'symbol'].sort(),
    )
    expect(file).toMatchObject({format: 'binance', exchange: 'BINANCE', symbol: 'BTCUSDT', inserted: 2, rejected: 1})
    expect(file.rejectsFile.startsWith(home)).toBe(true)
    expect(existsSync(file.rejectsFile)).toBe(true)
    expect(readFileSync(file.rejectsFile, 'utf8')).toMatch(/^line,field,reason,raw\n3,qty,/)
    expect(await storedTrades(home)).toBe(2)
  })

  it('says which flag is missing, and which format it could not recognise, with exit 2', async () => {
    const dir = tempDir()
    const home = join(dir, 'home')
    const noSymbol = join(dir, 'tape.csv')
    writeFileSync(noSymbol, GOOD.join('\n') + '\n')
    const missing = await k2ops(['ingest', noSymbol, '--home', home])
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr).toMatch(/--symbol/)
    const unknown = join(dir, 'notes.csv')
    writeFileSync(unknown, 'hello,world\nthis,is,not,a,tape\n')
    const result = await k2ops(['ingest', unknown, '--symbol', 'X', '--home', home])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/cannot tell the tape format/)
  })
})
