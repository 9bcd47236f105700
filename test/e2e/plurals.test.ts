import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'
import {insertTrades, openTestWarehouse} from '../helpers/warehouse.js'

describe('one thing is singular in human output', () => {
  const tempDir = useTempDir()

  it('ingest: 1 bad row, 1 trade stored', async () => {
    const dir = tempDir()
    const tape = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
    writeFileSync(tape, '3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342,True,True\n3735683260,x,0.048,2968.2,1723161255617,True,True\n')
    const result = await k2ops(['ingest', tape, '--skip-bad-rows', '--home', join(dir, 'home')])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toContain(`${tape}: 1 bad row written to `)
    expect(`${result.stdout}\n${result.stderr}`).toContain('1 trade stored')
    expect(`${result.stdout}\n${result.stderr}`).not.toMatch(/\b1 (bad rows|trades)\b/)
  })

  it('recover: 1 range, 1 candle, 1 trade', async () => {
    const home = tempDir()
    const warehouse = await openTestWarehouse(home)
    await insertTrades(warehouse, [{id: '1', at: '2024-08-08T10:00:30Z', price: '100', qty: '1'}])
    warehouse.close()
    expect((await k2ops(['backfill', '--timeframe', '1m', '--from', '2024-08-08', '--to', '2024-08-09', '--home', home], {K2OPS_NOW: '2024-08-10T00:00:00Z'})).exitCode).toBe(0)
    const result = await k2ops(['recover', '--timeframe', '1m', '--date', '2024-08-08', '--dry-run', '--home', home], {K2OPS_NOW: '2024-08-10T00:00:00Z'})
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toContain('Plan: 1 range; 1 candle to delete and rebuild; 1 trade to reprocess.')
  })
})
