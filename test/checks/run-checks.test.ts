import {describe, expect, it} from 'vitest'

import {CheckResult} from '../../src/checks/check.js'
import {runChecks} from '../../src/checks/runs.js'
import {DEFAULT_THRESHOLDS} from '../../src/checks/thresholds.js'
import {RunRecord, RunState} from '../../src/pipeline/run-history.js'
import {flowRunStats} from '../../src/pipeline/run-stats.js'

const NOW = Date.parse('2024-08-10T12:00:00Z') * 1000

/** Runs of one flow, newest first, one every 5 minutes back from NOW. */
function runs(flow: string, states: RunState[], durationMs = 1000, hoursAgo = 0): RunRecord[] {
  return states.map((state, i) => {
    const started = new Date(NOW / 1000 - hoursAgo * 3_600_000 - i * 300_000)
    return {
      id: `${flow}-${hoursAgo}-${i}`,
      flow,
      deployment: flow.toLowerCase(),
      timeframe: '1m',
      trigger: 'scheduled',
      state,
      startedAt: started.toISOString(),
      endedAt: new Date(started.getTime() + durationMs).toISOString(),
      durationMs,
      pid: 1,
      warehouse: 'w.duckdb',
    }
  })
}

function check(results: CheckResult[], name: string): CheckResult {
  const found = results.find((result) => result.name === name)
  if (!found) throw new Error(`no ${name} check`)
  return found
}

const evaluate = (records: RunRecord[]) => runChecks({runs: records, thresholds: DEFAULT_THRESHOLDS, nowMicros: NOW, limit: 10})

describe('flow run checks (the runbook: success rate > 99 %, alert < 95 %; > 3 failures in a row; p95 vs target)', () => {
  it('passes a day of completed runs within their targets', () => {
    const results = evaluate([...runs('OHLCV-1m-Pipeline', Array(200).fill('Completed'), 2000), ...runs('OHLCV-1h-Pipeline', Array(24).fill('Completed'), 5000)])
    expect(results.map((result) => [result.name, result.status])).toEqual([
      ['run_success_rate', 'pass'],
      ['failure_streak', 'pass'],
      ['run_duration', 'pass'],
    ])
    expect(check(results, 'run_success_rate').value).toBe(1)
  })

  it('warns below 99 % and fails below 95 %, counting only the last 24 h', () => {
    const ninetyEight = [...runs('OHLCV-1m-Pipeline', Array(98).fill('Completed')), ...runs('OHLCV-5m-Pipeline', ['Failed', 'Completed', 'TimedOut'])]
    expect(check(evaluate(ninetyEight), 'run_success_rate')).toMatchObject({status: 'warn', value: 0.9802})
    const ninety = [...runs('OHLCV-1m-Pipeline', Array(9).fill('Completed')), ...runs('OHLCV-5m-Pipeline', ['Crashed'])]
    const failing = check(evaluate(ninety), 'run_success_rate')
    expect(failing.status).toBe('fail')
    expect(failing.evidence).toContainEqual(expect.objectContaining({flow: 'OHLCV-5m-Pipeline', failed: 1, success_rate: '0.0%'}))
    // Failures older than a day no longer count against the rate.
    expect(check(evaluate([...runs('OHLCV-1m-Pipeline', ['Completed']), ...runs('OHLCV-5m-Pipeline', ['Failed', 'Failed'], 1000, 30)]), 'run_success_rate').status).toBe('pass')
  })

  it('says so when nothing ran in the last day', () => {
    expect(check(evaluate([]), 'run_success_rate')).toMatchObject({status: 'warn', summary: 'no finished flow runs in the last 24 h'})
  })

  it('fails a flow that failed more than 3 times in a row, and not one that failed exactly 3 times', () => {
    const four = check(evaluate(runs('OHLCV-30m-Pipeline', ['Failed', 'TimedOut', 'Failed', 'Crashed', 'Completed'])), 'failure_streak')
    expect(four).toMatchObject({status: 'fail', value: 1})
    expect(four.evidence[0]).toMatchObject({flow: 'OHLCV-30m-Pipeline', failures_in_a_row: 4})
    expect(check(evaluate(runs('OHLCV-30m-Pipeline', ['Failed', 'Failed', 'Failed', 'Completed'])), 'failure_streak').status).toBe('pass')
    // A run still going does not break or extend the streak.
    expect(check(evaluate(runs('OHLCV-30m-Pipeline', ['Running', 'Failed', 'Failed', 'Failed', 'Failed'])), 'failure_streak').status).toBe('fail')
  })

  it('warns when a flow p95 exceeds its target by more than 50 %', () => {
    // 1m target 20 s: p95 of 19 runs at 10 s and one at 40 s is 10 s (pass); all at 31 s warn.
    expect(check(evaluate(runs('OHLCV-1m-Pipeline', [...Array(19).fill('Completed'), 'Completed'], 10_000)), 'run_duration').status).toBe('pass')
    const slow = check(evaluate(runs('OHLCV-1m-Pipeline', Array(20).fill('Completed'), 31_000)), 'run_duration')
    expect(slow).toMatchObject({status: 'warn', value: 1.55, unit: '× target'})
    expect(slow.evidence[0]).toMatchObject({flow: 'OHLCV-1m-Pipeline', p95_seconds: 31, target_seconds: 20})
    // 29 s is over the target but within +50 %: the runbook alerts only past that.
    expect(check(evaluate(runs('OHLCV-1m-Pipeline', Array(20).fill('Completed'), 29_000)), 'run_duration').status).toBe('pass')
  })

  it('computes nearest-rank percentiles per flow, the five flows first', () => {
    const durations = Array.from({length: 20}, (_, i) => (i + 1) * 1000)
    const records = [
      ...runs('backfill', ['Completed']),
      ...durations.map((ms, i) => ({...runs('OHLCV-5m-Pipeline', ['Completed'], ms)[0], id: `d${i}`})),
      ...runs('OHLCV-1m-Pipeline', ['Completed']),
    ]
    const stats = flowRunStats(records)
    expect(stats.map((flow) => flow.flow)).toEqual(['OHLCV-1m-Pipeline', 'OHLCV-5m-Pipeline', 'backfill'])
    expect(stats[1]).toMatchObject({runs: 20, p50Seconds: 10, p95Seconds: 19, targetSeconds: 30})
    expect(stats[2].targetSeconds).toBeNull()
  })
})
