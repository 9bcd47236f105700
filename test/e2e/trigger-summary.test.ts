import {describe, expect, it} from 'vitest'

import {k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'
import {TestTrade, candles, insertTrades, micros, openTestWarehouse, seedSyntheticTrades} from '../helpers/warehouse.js'

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
    await addLateTrades(home, '2024-08-10T00:04:00Z', [
      {id: 'late-1', at: '2024-08-09T10:00:30Z', price: '60000', qty: '1'},
      {id: 'late-2', at: '2024-08-09T10:05:30Z', price: '60010', qty: '1'},
    ])
    const second = await k2ops(['trigger', '1m', '--direct', '--home', home], {K2OPS_NOW: '2024-08-10T00:05:00Z'})
    expect(second.exitCode, second.stderr).toBe(0)
    expect(second.stdout.trim().split('\n').at(-1)).toBe('1m: rebuilt 10 windows 2024-08-09T23:55Z … 2024-08-10T00:04Z and 2 late windows (2024-08-09T10:00Z … 10:05Z)')
    const json = await k2ops(['runs', '--flow', '1m', '--limit', '1', '--home', home, '--json'])
    expect(json.json.runs[0]).toMatchObject({lateWindows: 2, lateFrom: '2024-08-09T10:00:00Z', lateTo: '2024-08-09T10:05:00Z'})
  })

  it('late windows before the retention cutoff: left out, counted, and not reconsidered', async () => {
    const home = tempDir()
    const warehouse = await openTestWarehouse(home)
    await insertTrades(warehouse, [{id: 'fresh', at: '2026-02-28T23:50:30Z', price: '100', qty: '1', ingestedAt: micros('2026-02-28T23:51:00Z')}])
    warehouse.close()
    const first = await k2ops(['trigger', '1m', '--direct', '--home', home], {K2OPS_NOW: '2026-03-01T00:00:00Z'})
    expect(first.exitCode, first.stderr).toBe(0)

    // 1m keeps 90 days: on 2026-03-01 its cutoff is 2025-12-01T00:00Z.
    await addLateTrades(home, '2026-03-01T00:04:00Z', [
      {id: 'too-old', at: '2025-11-30T10:00:30Z', price: '50', qty: '1'},
      {id: 'kept', at: '2026-02-20T10:00:30Z', price: '60', qty: '2'},
    ])
    const second = await k2ops(['trigger', '1m', '--direct', '--home', home], {K2OPS_NOW: '2026-03-01T00:05:00Z'})
    expect(second.exitCode, second.stderr).toBe(0)
    expect(second.stdout.trim().split('\n').at(-1)).toBe(
      '1m: rebuilt 10 windows 2026-02-28T23:55Z … 2026-03-01T00:04Z and 1 late window (2026-02-20T10:00Z); 1 late window before the 90-day retention cutoff (2025-12-01) left out',
    )

    const stored = await openTestWarehouse(home)
    const starts = (await candles(stored, '1m')).map((candle) => String(candle.window_start))
    stored.close()
    expect(starts.some((start) => start.startsWith('2026-02-20 10:00:00'))).toBe(true)
    expect(starts.some((start) => start.startsWith('2025-11-30'))).toBe(false)

    const json = await k2ops(['runs', '--flow', '1m', '--limit', '1', '--home', home, '--json'])
    expect(json.json.runs[0]).toMatchObject({lateWindows: 1, lateFrom: '2026-02-20T10:00:00Z', lateTo: '2026-02-20T10:00:00Z', lateBeyondRetention: 1, retentionCutoff: '2025-12-01T00:00:00Z', retentionDays: 90})

    // The watermark moved past the old trade: the next run has nothing late to do.
    const third = await k2ops(['trigger', '1m', '--direct', '--home', home, '--json'], {K2OPS_NOW: '2026-03-01T00:06:00Z'})
    expect(third.exitCode, third.stderr).toBe(0)
    expect(third.json.runs[0].lateWindows).toBe(0)
    expect(third.json.runs[0].lateBeyondRetention).toBeUndefined()
  })
})

/** Trades that reach the warehouse late, all ingested at one instant. */
async function addLateTrades(home: string, ingestedAtIso: string, trades: Array<Omit<TestTrade, 'ingestedAt'>>): Promise<void> {
  const warehouse = await openTestWarehouse(home)
  const ingestedAt = micros(ingestedAtIso)
  await insertTrades(warehouse, trades.map((trade) => ({...trade, ingestedAt})))
  warehouse.close()
}
