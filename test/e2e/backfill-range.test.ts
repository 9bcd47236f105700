import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {k2ops} from '../helpers/cli.js'
import {openTestWarehouse, seedSyntheticTrades} from '../helpers/warehouse.js'
import {clampToTrades} from '../../src/pipeline/backfill.js'

const NOW = '2024-08-16T00:00:00Z'

function runCount(home: string): number {
  const file = join(home, 'state', 'runs.jsonl')
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length : 0
}

describe('backfill over an absurd range', () => {
  // One seeded home for every case (useTempDir would remove it after the first).
  const home = mkdtempSync(join(tmpdir(), 'k2ops-backfill-range-'))
  afterAll(() => rmSync(home, {recursive: true, force: true}))

  beforeAll(async () => {
    const warehouse = await openTestWarehouse(home)
    // Trades on 2024-08-08 12:00 … 2024-08-10 12:00 only.
    await seedSyntheticTrades(warehouse, {trades: 3000, from: '2024-08-08T12:00:00Z', to: '2024-08-10T12:00:00Z'})
    warehouse.close()
  })

  it('plans only the days from the first to the last trade in the range, and says so', async () => {
    const result = await k2ops(['backfill', '--timeframe', 'all', '--from', '2024-01-01', '--to', '2024-12-31', '--home', home, '--json'], {K2OPS_NOW: NOW})
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.json).toMatchObject({from: '2024-01-01T00:00:00Z', to: '2024-12-31T00:00:00Z', days: 3})
    expect(result.json.tradeSpan.first).toMatch(/^2024-08-08T12:/)
    expect(result.json.tradeSpan.last).toMatch(/^2024-08-10T11:/)
    expect(result.json.ranges).toContainEqual({timeframe: '1d', from: '2024-08-08T00:00:00Z', to: '2024-08-11T00:00:00Z'})
    expect(result.json.ranges).toContainEqual({timeframe: '1m', from: '2024-08-08T12:00:00Z', to: '2024-08-10T12:00:00Z'})

    const text = await k2ops(['backfill', '--timeframe', '1h', '--from', '1970-01-01', '--to', '2199-12-31', '--home', home], {K2OPS_NOW: NOW})
    expect(text.exitCode, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^Trades from 2024-08-08T12:\S+ to 2024-08-10T11:\S+ only: the rest of 1970-01-01T00:00:00Z → 2199-12-31T00:00:00Z has nothing to rebuild\.$/m)
    expect(text.stdout).toMatch(/^Backfilled 1h: 3 days, /m)
  })

  it('over days without trades has nothing to do: no day planned, no run recorded', async () => {
    const before = runCount(home)
    const result = await k2ops(['backfill', '--timeframe', 'all', '--from', '2000-01-01', '--to', '2020-01-01', '--home', home, '--json'], {K2OPS_NOW: NOW})
    expect(result.exitCode, result.stdout).toBe(0)
    expect(result.json, result.stdout).toMatchObject({days: 0, tradeSpan: null, ranges: [], candles: 0})
    const text = await k2ops(['backfill', '--timeframe', '1m', '--lookback', '2d', '--home', home], {K2OPS_NOW: NOW})
    expect(text.stdout.trim()).toBe('Nothing to backfill: no trades from 2024-08-14T00:00:00Z to 2024-08-16T00:00:00Z.')
    expect(runCount(home)).toBe(before)
  })

  it('refuses instants outside the supported range with exit 2 and one line naming the flag', async () => {
    for (const [flag, value] of [
      ['--from', '-99999999999d'],
      ['--from', '0001-01-01'],
      ['--to', '9999-12-31'],
    ]) {
      const other = flag === '--from' ? ['--to', '2024-08-09'] : ['--from', '2024-08-08']
      const result = await k2ops(['backfill', '--timeframe', '1m', ...other, flag, value, '--home', home], {K2OPS_NOW: NOW})
      expect(result.exitCode).toBe(2)
      expect(result.stderr.trim()).toBe(`k2ops: ${flag}: '${value}' is outside the supported range 1970-01-01 … 2199-12-31 (UTC)`)
    }
  })

  it('a missing required flag is one line', async () => {
    const noFrom = await k2ops(['backfill', '--timeframe', '1m', '--home', home])
    expect(noFrom.exitCode).toBe(2)
    expect(noFrom.stderr.trim()).toBe('k2ops: backfill: missing --from (see --help)')
    const nothing = await k2ops(['backfill', '--home', home])
    expect(nothing.stderr.trim()).toBe('k2ops: backfill: missing --timeframe (see --help)')
    const noArg = await k2ops(['trigger', '--home', home, '--json'])
    expect(noArg.exitCode).toBe(2)
    expect(noArg.json.error).toMatchObject({code: 'missing_argument', exit: 2, message: 'trigger: missing TIMEFRAME (see --help)'})
  })
})

describe('clampToTrades', () => {
  it('cuts the range to the first and just past the last trade; nothing without trades', () => {
    expect(clampToTrades(0, 1000, {firstMicros: 200, lastMicros: 300})).toEqual({fromMicros: 200, toMicros: 301})
    expect(clampToTrades(250, 280, {firstMicros: 260, lastMicros: 270})).toEqual({fromMicros: 260, toMicros: 271})
    expect(clampToTrades(0, 1000, undefined)).toBeUndefined()
  })
})
