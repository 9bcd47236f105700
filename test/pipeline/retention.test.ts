import {appendFileSync, mkdirSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {AuditLog} from '../../src/pipeline/audit.js'
import {settleInterruptedRetentions} from '../../src/pipeline/interrupted-retention.js'
import {processStartTime} from '../../src/pipeline/process-owner.js'

import {DuckdbEngine} from '../../src/pipeline/engine/duckdb/duckdb-engine.js'
import {planBackfill} from '../../src/pipeline/backfill.js'
import {clampBackfillPlan, clampToRetention, parseRetentionTargets, resolveRetentionPolicies, retentionCutoff, retentionKeptFrom, selectPolicies} from '../../src/pipeline/retention-policy.js'
import {findDeleted} from '../../src/pipeline/retention.js'
import {TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {insertCandle} from '../helpers/candle-rows.js'
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

describe('retention cutoffs for the checks, backfill and recover', () => {
  const home = (retention?: Record<string, unknown>) => ({config: retention ? {retention} : {}, configFile: 'config.json'})
  const at = (iso: string) => Date.parse(iso) * 1000

  it("puts each timeframe's first kept instant at the policy's cutoff date, configured policies included", () => {
    const kept = retentionKeptFrom(home({'1m': 30}), at('2026-03-01T12:00:00Z'))
    expect(kept['1m']).toEqual({fromMicros: at('2026-01-30T00:00:00Z'), policyDays: 30})
    expect(kept['5m']).toEqual({fromMicros: at('2025-09-02T00:00:00Z'), policyDays: 180})
  })

  it('cuts ranges at the cutoff, drops the ones before it, and says which timeframes were cut', () => {
    const kept = retentionKeptFrom(home(), at('2026-03-01T12:00:00Z'))
    const ranges = [
      {timeframe: '1m' as const, fromMicros: at('2025-11-30T00:00:00Z'), toMicros: at('2025-12-02T00:00:00Z')},
      {timeframe: '1m' as const, fromMicros: at('2025-11-01T00:00:00Z'), toMicros: at('2025-11-02T00:00:00Z')},
      {timeframe: '5m' as const, fromMicros: at('2025-11-30T00:00:00Z'), toMicros: at('2025-12-02T00:00:00Z')},
    ]
    expect(clampToRetention(ranges, kept)).toEqual({
      ranges: [
        {timeframe: '1m', fromMicros: at('2025-12-01T00:00:00Z'), toMicros: at('2025-12-02T00:00:00Z')},
        {timeframe: '5m', fromMicros: at('2025-11-30T00:00:00Z'), toMicros: at('2025-12-02T00:00:00Z')},
      ],
      clamped: [{timeframe: '1m', cutoff: '2025-12-01T00:00:00Z', policyDays: 90}],
    })
  })

  it("cuts a backfill plan's day chunks alike: a day of 1m and 5m before the 1m cutoff keeps its 5m part", () => {
    const now = at('2026-03-01T12:00:00Z')
    const plan = planBackfill(['1m', '5m'], at('2025-11-30T00:00:00Z'), at('2025-12-02T00:00:00Z'), now)
    const {plan: clamped} = clampBackfillPlan(plan, retentionKeptFrom(home(), now))
    expect(clamped.chunks.map((chunk) => chunk.ranges.map((range) => range.timeframe))).toEqual([['5m'], ['1m', '5m']])
    expect(clamped.chunks[1]).toMatchObject({fromMicros: at('2025-12-01T00:00:00Z'), toMicros: at('2025-12-02T00:00:00Z')})
  })
})

describe('findDeleted: what a killed retention run did', () => {
  const tempDir = useTempDir('k2ops-retention-found-')

  it("a table's rows before its cutoff are all gone (deleted), all there (not deleted), or neither (unknown)", async () => {
    const warehouse = await openTestWarehouse(tempDir())
    try {
      await insertCandle(warehouse, '5m', {symbol: 'BTCUSDT', start: '2025-09-01T00:00:00Z'})
      await insertCandle(warehouse, '1h', {symbol: 'BTCUSDT', start: '2023-03-01T00:00:00Z'})
      const found = await findDeleted(DuckdbEngine.over(warehouse), [
        {target: '1m', table: TIMEFRAME_SPECS['1m'].table, cutoff: '2025-12-01', rows: 4},
        {target: '5m', table: TIMEFRAME_SPECS['5m'].table, cutoff: '2025-09-02', rows: 1},
        {target: '1h', table: TIMEFRAME_SPECS['1h'].table, cutoff: '2023-03-02', rows: 3},
      ])
      expect(found.map((table) => [table.target, table.status, table.deleted, table.left])).toEqual([
        ['1m', 'deleted', 4, 0],
        ['5m', 'not deleted', 0, 1],
        ['1h', 'unknown', null, 1],
      ])
    } finally {
      warehouse.close()
    }
  })

  it("without holding the target (a dry run) a run whose process is alive is not taken for killed; the real run settles it", async () => {
    const home = tempDir()
    const warehouse = await openTestWarehouse(home)
    try {
      const file = join(home, 'state', 'audit.jsonl')
      mkdirSync(join(home, 'state'), {recursive: true})
      // An intent of another process that is alive (this test's parent).
      const intent = {id: 'alive-run', command: 'retention', at: '2026-03-01T00:00:00Z', outcome: 'started', user: 'u', host: hostname(), pid: process.ppid, pidStartTicks: processStartTime(process.ppid), details: {warehouse: 'w', tables: []}}
      appendFileSync(file, JSON.stringify(intent) + '\n')
      const log = new AuditLog(file)
      expect(await settleInterruptedRetentions(DuckdbEngine.over(warehouse), log, 'w', false)).toEqual([])
      expect((await settleInterruptedRetentions(DuckdbEngine.over(warehouse), log, 'w', true)).map((run) => run.id)).toEqual(['alive-run'])
    } finally {
      warehouse.close()
    }
  })
})
