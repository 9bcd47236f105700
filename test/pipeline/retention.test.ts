import {afterEach, describe, expect, it} from 'vitest'

import type {Warehouse} from '../../src/pipeline/warehouse.js'

import {applyRetention, parseRetentionTargets, planRetention, resolveRetentionPolicies, retentionCutoff, selectPolicies} from '../../src/pipeline/retention.js'
import {TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {insertCandle, rowsPerDay} from '../helpers/candle-rows.js'
import {useTempDir} from '../helpers/temp-home.js'
import {openTestWarehouse} from '../helpers/warehouse.js'

describe('retention policies', () => {
  it('counts the cutoff back from today in calendar days, leap days included', () => {
    expect(retentionCutoff('2026-03-01', 90)).toBe('2025-12-01')
    expect(retentionCutoff('2024-03-01', 1)).toBe('2024-02-29')
    expect(retentionCutoff('2026-03-01', 1095)).toBe('2023-03-02')
    expect(retentionCutoff('2026-03-01', 1825)).toBe('2021-03-02')
  })

  it("lays the config over the runbook's policies; trades stay off unless set", () => {
    expect(resolveRetentionPolicies(undefined)).toEqual({'1m': 90, '5m': 180, '30m': 365, '1h': 1095, '1d': 1825, trades: null})
    expect(resolveRetentionPolicies({'1m': 30, trades: 730})).toMatchObject({'1m': 30, '5m': 180, trades: 730})
    expect(() => resolveRetentionPolicies({'4h': 30}, 'c.json: retention')).toThrow(/^c\.json: retention\.4h: unknown key \(did you mean '1h'\? known: 1m, 5m, 30m, 1h, 1d, trades\)$/)
    expect(() => resolveRetentionPolicies({'1m': -1})).toThrow(/retention\.1m: -1 is not allowed: a whole number of days from 1 to 36500$/)
    expect(() => resolveRetentionPolicies([90])).toThrow(/^config\.json: retention: \[90\] is not allowed: an object$/)
  })

  it('chooses tables: all takes trades only with a policy; a list is applied candles first, trades last', () => {
    const off = resolveRetentionPolicies(undefined)
    const on = resolveRetentionPolicies({trades: 730})
    expect(parseRetentionTargets('all', off)).toEqual(['1m', '5m', '30m', '1h', '1d'])
    expect(parseRetentionTargets('all', on)).toEqual(['1m', '5m', '30m', '1h', '1d', 'trades'])
    expect(parseRetentionTargets('trades,1d,1m', on)).toEqual(['1m', '1d', 'trades'])
    expect(() => parseRetentionTargets('trades', off)).toThrow(/no retention policy is set for the source trades/)
    expect(selectPolicies(on, ['1h', 'trades'])).toEqual({'1h': 1095, trades: 730})
  })
})

describe('planRetention and applyRetention', () => {
  const tempDir = useTempDir('k2ops-retention-unit-')
  const open: Warehouse[] = []
  afterEach(() => {
    for (const warehouse of open.splice(0)) warehouse.close()
  })

  async function warehouseWithCandles(): Promise<Warehouse> {
    const warehouse = await openTestWarehouse(tempDir())
    open.push(warehouse)
    for (const start of ['2025-11-29T00:00:00Z', '2025-11-30T23:59:00Z', '2025-12-01T00:00:00Z']) await insertCandle(warehouse, '1m', {symbol: 'BTCUSDT', start})
    for (const start of ['2025-09-01T23:55:00Z', '2025-09-02T00:00:00Z']) await insertCandle(warehouse, '5m', {symbol: 'BTCUSDT', start})
    return warehouse
  }

  it('deletes what the plan counted, per table, and reports it', async () => {
    const warehouse = await warehouseWithCandles()
    const plan = await planRetention(warehouse, {'1m': 90, '5m': 180}, '2026-03-01')
    expect(plan.tables.map((t) => [t.table, t.cutoff, t.byDay])).toEqual([
      [TIMEFRAME_SPECS['1m'].table, '2025-12-01', [{date: '2025-11-29', rows: 1}, {date: '2025-11-30', rows: 1}]],
      [TIMEFRAME_SPECS['5m'].table, '2025-09-02', [{date: '2025-09-01', rows: 1}]],
    ])
    const result = await applyRetention(warehouse, plan)
    expect(result).toMatchObject({deletedRows: 3, failedTable: null, checkpoint: {done: true}})
    expect(await rowsPerDay(warehouse)).toEqual({'1m 2025-12-01': 1, '5m 2025-09-02': 1})
  })

  it('a row that arrived after the plan rolls its table back whole and stops the run there', async () => {
    const warehouse = await warehouseWithCandles()
    const plan = await planRetention(warehouse, {'1m': 90, '5m': 180}, '2026-03-01')
    await insertCandle(warehouse, '1m', {symbol: 'ETHUSDT', start: '2025-11-30T12:00:00Z'})
    const before = await rowsPerDay(warehouse)
    const result = await applyRetention(warehouse, plan)
    expect(result.failedTable).toBe(TIMEFRAME_SPECS['1m'].table)
    expect(result.tables.map((t) => [t.status, t.deletedRows])).toEqual([
      ['failed', 0],
      ['not run', 0],
    ])
    expect(result.tables[0].error).toMatch(/not the planned ones \(2025-11-30: 1 planned, 2 found\); nothing of it was deleted/)
    expect(result.checkpoint.done).toBe(false)
    expect(await rowsPerDay(warehouse)).toEqual(before)
  })
})
