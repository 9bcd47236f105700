import {describe, expect, it} from 'vitest'

import type {RunRecord} from '../../../src/pipeline/run-history.js'

import {AlertState} from '../../../src/pipeline/alerts/alert-state.js'
import {type FreshnessReport, freshnessConditions, healthConditions, runConditions} from '../../../src/pipeline/alerts/conditions.js'
import {useTempDir} from '../../helpers/temp-home.js'

// What the daemon would tell, from the run history, a freshness report and the last health daily:
// each condition once when it starts, once when it clears, across daemon restarts.

let next = 0
function run(deployment: string, state: RunRecord['state'], trigger: RunRecord['trigger'] = 'scheduled'): RunRecord {
  next++
  const at = new Date(Date.UTC(2026, 0, 1, 0, next)).toISOString()
  return {id: `run-${String(next).padStart(8, '0')}`, flow: 'OHLCV-1m-Pipeline', deployment, timeframe: '1m', trigger, state, startedAt: at, endedAt: at, pid: 1, warehouse: 'w', ...(state !== 'Completed' && {error: 'the warehouse is busy'})}
}

const FRESHNESS: FreshnessReport = {
  checkedAt: '2026-01-01T01:00:00.000000Z',
  checks: [
    {name: 'source_lag', timeframe: null, status: 'fail', summary: '…', value: 900, evidence: [
      {exchange: 'BINANCE', newest_trade: '2026-01-01T00:59:00.000000Z', lag_seconds: 60, status: 'pass'},
      {exchange: 'KRAKEN', newest_trade: '2026-01-01T00:45:00.000000Z', lag_seconds: 900, status: 'fail'},
    ]},
    {name: 'candle_lag', timeframe: '1m', status: 'pass', summary: 'newest candle ends 36 s before the newest trade', value: 36},
    {name: 'candle_lag', timeframe: '5m', status: 'fail', summary: 'candles end 20 min before the newest trade', value: 1200},
  ],
}

describe('alert conditions', () => {
  const tempDir = useTempDir()

  it('a deployment whose last run failed, and a streak from the threshold on; a cancelled, demo or backfill run says nothing', () => {
    const runs = [run('a', 'Failed'), run('a', 'Completed'), run('a', 'Failed'), run('a', 'Cancelled'), run('a', 'TimedOut'), run('b', 'Failed', 'backfill'), run('c', 'Crashed'), run('c', 'Completed')]
    expect(runConditions(runs, 2).map((condition) => [condition.key, condition.event])).toEqual([
      ['run/a', 'timed_out'],
      ['streak/a', 'failure_streak'],
    ])
    expect(runConditions(runs, 3).map((condition) => condition.key)).toEqual(['run/a'])
    expect(runConditions(runs, 0).map((condition) => condition.key)).toEqual(['run/a'])
  })

  it('late candles per timeframe and silent exchanges from the freshness report; a failed health daily', () => {
    expect(freshnessConditions(FRESHNESS).map((condition) => [condition.key, condition.summary])).toEqual([
      ['source_silent/KRAKEN', 'no trades from KRAKEN since 2026-01-01T00:45:00.000000Z (900 s)'],
      ['candles_late/5m', '5m candles late: candles end 20 min before the newest trade'],
    ])
    expect(healthConditions({at: 'T', status: 'warn', exit: 0, failed: []})).toEqual([])
    expect(healthConditions({at: 'T', status: 'fail', exit: 1, failed: [{name: 'candle_lag', timeframe: '5m', summary: 's'}]})[0].summary).toBe('health daily failed at T: candle_lag 5m')
  })

  it('tells each condition once while it holds, resolves it when its source says it cleared, and remembers across restarts', () => {
    const dir = tempDir()
    const state = new AlertState(dir, '/home/k2ops')
    const failing = {sources: new Set(['runs', 'freshness'] as const), conditions: [...runConditions([run('a', 'Failed')], 3), ...freshnessConditions(FRESHNESS)]}
    const first = state.transitions(failing, 0)
    expect(first.map((notification) => [notification.action, notification.key])).toEqual([
      ['trigger', 'run/a'],
      ['trigger', 'source_silent/KRAKEN'],
      ['trigger', 'candles_late/5m'],
    ])
    expect(state.transitions(failing, 60_000)).toEqual([])

    // A new daemon: nothing told again. The freshness checks could not run (busy): theirs stay held.
    const restarted = new AlertState(dir, '/home/k2ops')
    expect(restarted.transitions({sources: new Set(['runs'] as const), conditions: []}, 120_000).map((notification) => [notification.action, notification.key])).toEqual([['resolve', 'run/a']])
    const resolved = restarted.transitions({sources: new Set(['runs', 'freshness'] as const), conditions: []}, 180_000)
    expect(resolved.map((notification) => [notification.action, notification.event, notification.key])).toEqual([
      ['resolve', 'source_silent', 'source_silent/KRAKEN'],
      ['resolve', 'candles_late', 'candles_late/5m'],
    ])
    // The resolve carries the trigger's dedup key (PagerDuty closes that incident).
    expect(resolved[1].dedupKey).toBe(first[2].dedupKey)
    expect(resolved[1].summary).toBe('5m candles caught up (since 1970-01-01T00:00:00Z)')
  })
})
