import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {startRunner} from '../../helpers/schedule-runner-harness.js'
import {useTempDir} from '../../helpers/temp-home.js'

// Cancelling one run of the schedule runner (k2ops runs cancel, POST /api/flow_runs/<id>/cancel).

describe('ScheduleRunner.cancel', () => {
  const tempDir = useTempDir('k2ops-cancel-')
  const historyFile = () => join(tempDir(), 'runs.jsonl')

  it('stops the running flow, records it Cancelled by who asked, and starts the next queued run at once', async () => {
    const {clock, calls, runs, runner} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), flows: {'1m': {durationMs: 100_000}}})
    await clock.advanceTo('2024-08-10T00:05:02Z')
    const running = runner.snapshot().running!
    expect(running).toMatchObject({timeframe: '1m', state: 'Running'})

    expect(runner.cancel(running.id, 'alice (k2ops runs cancel)')).toMatchObject({wasRunning: true, run: {id: running.id}})
    await clock.settle()
    expect(calls[0].sawAbort).toBe(true)
    expect(runs().find((run) => run.id === running.id)).toMatchObject({
      state: 'Cancelled',
      error: 'cancelled by alice (k2ops runs cancel)',
      cancelledBy: 'alice (k2ops runs cancel)',
      cancelledAt: '2024-08-10T00:05:02Z',
      endedAt: '2024-08-10T00:05:02Z',
    })
    // The slot is free right after: the 5m run queued behind it starts at the same instant.
    expect(runner.snapshot().running).toMatchObject({timeframe: '5m', state: 'Running', startedAt: '2024-08-10T00:05:02Z'})
    await clock.advanceTo('2024-08-10T00:06:00Z')
    expect(runs().filter((run) => run.scheduledFor === '2024-08-10T00:05:00Z').map((run) => [run.timeframe, run.state])).toEqual([
      ['1m', 'Cancelled'],
      ['5m', 'Completed'],
      ['1d', 'Completed'],
    ])
  })

  it('removes a queued run: it never starts, and is recorded Cancelled before it started', async () => {
    const {clock, calls, runs, runner} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), flows: {'1m': {durationMs: 10_000}}})
    await clock.advanceTo('2024-08-10T00:05:01Z')
    const queued = runner.snapshot().queue.find((run) => run.timeframe === '5m')!
    expect(runner.cancel(queued.id, 'bob')).toMatchObject({wasRunning: false, run: {state: 'Cancelled', cancelledBy: 'bob'}})
    expect(runner.snapshot().queue.map((run) => run.timeframe)).toEqual(['1d'])
    await clock.advanceTo('2024-08-10T00:06:00Z')

    expect(calls.map((call) => call.timeframe)).toEqual(['1m', '1d'])
    expect(runs().find((run) => run.id === queued.id)).toMatchObject({state: 'Cancelled', note: 'cancelled by bob before it started', cancelledAt: '2024-08-10T00:05:01Z'})
    // Cancelling it again, or a run that ended, is not this runner's to do.
    expect(runner.cancel(queued.id, 'bob')).toBeUndefined()
    expect(runner.cancel(runs()[0].id, 'bob')).toBeUndefined()
  })

  it('ends a run waiting to retry at once, Cancelled, without another attempt', async () => {
    const {clock, calls, runs, runner} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), flows: {'1m': {durationMs: 0, failAttempts: Infinity}}})
    await clock.advanceTo('2024-08-10T00:05:10Z')
    const waiting = runner.snapshot().running!
    expect(waiting).toMatchObject({timeframe: '1m', attempt: 1})
    runner.cancel(waiting.id, 'carol')
    await clock.settle()

    expect(calls.filter((call) => call.timeframe === '1m')).toHaveLength(1)
    expect(runs().find((run) => run.id === waiting.id)).toMatchObject({state: 'Cancelled', attempt: 1, cancelledBy: 'carol', error: 'cancelled by carol'})
    expect(runner.snapshot().running?.timeframe).toBe('5m')
  })
})
