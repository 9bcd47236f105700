import {describe, expect, it} from 'vitest'

import {k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'
import {insertTrades, micros, openTestWarehouse, seedSyntheticTrades} from '../helpers/warehouse.js'

describe('trigger says which windows it rebuilt', () => {
  const tempDir = useTempDir()

  it('the lookback windows and the late windows, each with its span', async () => {
    const home = tempDir()
    const warehouse = await openTestWarehouse(home)
    await seedSyntheticTrades(warehouse, {trades: 2000, from: '2024-08-09T00:00:00Z', to: '2024-08-10T00:00:00Z'})
    warehouse.close()
    const first = await k2ops(['trigger', '1m', '--direct', '--home', home], {K2OPS_NOW: '2024-08-10T00:00:00Z'})
    expect(first.exitCode, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/^1m: rebuilt 10 windows 2024-08-09T23:50Z … 23:59Z and \d+ late windows \(2024-08-09T00:00Z … 23:49Z\)$/m)

    // Two trades that arrive late, hours after their windows were built.
    const late = await openTestWarehouse(home)
    const ingestedAt = micros('2024-08-10T00:04:00Z')
    await insertTrades(late, [
      {id: 'late-1', at: '2024-08-09T10:00:30Z', price: '60000', qty: '1', ingestedAt},
      {id: 'late-2', at: '2024-08-09T10:05:30Z', price: '60010', qty: '1', ingestedAt},
    ])
    late.close()
    const second = await k2ops(['trigger', '1m', '--direct', '--home', home], {K2OPS_NOW: '2024-08-10T00:05:00Z'})
    expect(second.exitCode, second.stderr).toBe(0)
    expect(second.stdout.trim().split('\n').at(-1)).toBe('1m: rebuilt 10 windows 2024-08-09T23:55Z … 2024-08-10T00:04Z and 2 late windows (2024-08-09T10:00Z … 10:05Z)')
    const json = await k2ops(['runs', '--flow', '1m', '--limit', '1', '--home', home, '--json'])
    expect(json.json.runs[0]).toMatchObject({lateWindows: 2, lateFrom: '2024-08-09T10:00:00Z', lateTo: '2024-08-09T10:05:00Z'})
  })
})
