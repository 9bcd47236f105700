import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
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

  it('rejects a trade id stored before with another time, price or quantity: exit 1, nothing stored, first file named', async () => {
    const dir = tempDir()
    const home = join(dir, 'home')
    const first = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
    writeFileSync(first, GOOD.join('\n') + '\n')
    expect((await k2ops(['ingest', first, '--home', home])).exitCode).toBe(0)
    const second = join(dir, 'BTCUSDT-trades-2024-08-08-b.csv')
    writeFileSync(second, ['3735683261,61837.63000000,0.01000000,618.37630000,1723161255700,True,True', GOOD[1].replace('1723161255617', '1723161255618')].join('\n') + '\n')
    const result = await k2ops(['ingest', second, '--home', home, '--json'])
    expect(result.exitCode).toBe(1)
    expect(result.json.error).toMatchObject({
      code: 'bad_input',
      exit: 1,
      message: `${second}:2: trade_id: 3735683260 already stored with a different time (first stored from ${first})`,
    })
    expect(await storedTrades(home)).toBe(2)
  })

  it('takes the time window from config.json (ingest.earliestTime, ingest.maxFuture) and K2OPS_NOW; a bad value is exit 2 naming the key', async () => {
    const dir = tempDir()
    const home = join(dir, 'home')
    mkdirSync(home, {recursive: true, mode: 0o700})
    const tape = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
    writeFileSync(tape, GOOD.join('\n') + '\n')
    // The trades are at 23:54:15.342 and .617: the first is before earliestTime.
    writeFileSync(join(home, 'config.json'), JSON.stringify({ingest: {earliestTime: '2024-08-08T23:54:15.5Z', maxFuture: '1h'}}))
    const early = await k2ops(['ingest', tape, '--home', home], {K2OPS_NOW: '2024-08-09T00:00:00Z'})
    expect(early.exitCode).toBe(1)
    expect(early.stderr).toContain(`k2ops: ${tape}:1: time: 2024-08-08T23:54:15.342000Z is outside 2024-08-08T23:54:15.500000Z … now + 1 hour`)
    // K2OPS_NOW is the clock: an hour before the trades, they are in the future.
    writeFileSync(join(home, 'config.json'), JSON.stringify({ingest: {maxFuture: '1h'}}))
    const future = await k2ops(['ingest', tape, '--home', home, '--skip-bad-rows', '--json'], {K2OPS_NOW: '2024-08-08T22:54:15.5Z'})
    expect(future.exitCode).toBe(0)
    expect(future.json).toMatchObject({inserted: 1, rejected: 1})
    expect(readFileSync(future.json.files[0].rejectsFile, 'utf8')).toContain('2,time,2024-08-08T23:54:15.617000Z is outside 2009-01-01 … now + 1 hour,')
    writeFileSync(join(home, 'config.json'), JSON.stringify({ingest: {maxFuture: 'soon'}}))
    const bad = await k2ops(['ingest', tape, '--home', home])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toContain('ingest.maxFuture: "soon" is not allowed: a duration')
  })

  it('says a klines file is klines, not trades, with exit 2', async () => {
    const dir = tempDir()
    const tape = join(dir, 'ADABTC-1m-2021-11-27.csv')
    writeFileSync(tape, '1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.20000000,1637971259999,1.03547608,79,19523.00000000,0.55694227,0\n')
    const result = await k2ops(['ingest', tape, '--home', join(dir, 'home')])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain(`k2ops: ${tape}: a klines (candles) file, not trades (`)
  })
})
