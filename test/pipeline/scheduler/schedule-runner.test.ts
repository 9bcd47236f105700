import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {type DeploymentOverrides, loadDeployments, runTimesBetween} from '../../../src/pipeline/deployments.js'
import {UsageError} from '../../../src/pipeline/errors.js'
import {RunHistory} from '../../../src/pipeline/run-history.js'
import {systemClock} from '../../../src/pipeline/scheduler/system-clock.js'
import {formatMillis} from '../../../src/pipeline/time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from '../../../src/pipeline/timeframes.js'
import {type ExecutorCall, WAREHOUSE, startRunner} from '../../helpers/schedule-runner-harness.js'
import {useTempDir} from '../../helpers/temp-home.js'

/** Runs a runner from `from` to `to`, then stops it (as a scheduler that ran for a while, then was stopped). */
async function runBetween(historyFile: string, from: string, to: string, pid = 1001): Promise<void> {
  const {clock, runner} = startRunner({at: from, historyFile, pid})
  await clock.advanceTo(to)
  const stopped = runner.stop({timeoutMs: 60_000})
  await clock.advanceBy(60_000)
  await stopped
}

const at = (time: string) => Date.parse(time)
const hhmm = (iso: string | undefined) => iso?.slice(11, 16)
const label = (call: ExecutorCall) => `${call.timeframe} ${call.scheduledFor?.slice(5, 16)}`
const deploymentOf = (tf: Timeframe) => TIMEFRAME_SPECS[tf].deployment
const withOverrides = (overrides: Record<string, DeploymentOverrides>) => () => loadDeployments(overrides)

describe('ScheduleRunner', () => {
  const tempDir = useTempDir('k2ops-scheduler-')
  const historyFile = () => join(tempDir(), 'runs.jsonl')

  describe('cron ticks', () => {
    it('runs the five default crons in UTC across an hour and a day boundary, colliding ticks in timeframe order', async () => {
      const {clock, calls, runs} = startRunner({at: '2024-08-09T23:50:00Z', historyFile: historyFile()})
      await clock.advanceTo('2024-08-10T01:20:30Z')

      // The start (23:50) is not a tick of this runner: ticks are in (start, now].
      expect(calls.map(label)).toEqual([
        '1m 08-09T23:55',
        '1m 08-10T00:00',
        '1m 08-10T00:05', '5m 08-10T00:05', '1d 08-10T00:05',
        '1m 08-10T00:10', '30m 08-10T00:10',
        '1m 08-10T00:15', '1h 08-10T00:15',
        '1m 08-10T00:20', '5m 08-10T00:20',
        '1m 08-10T00:25',
        '1m 08-10T00:30',
        '1m 08-10T00:35', '5m 08-10T00:35',
        '1m 08-10T00:40', '30m 08-10T00:40',
        '1m 08-10T00:45',
        '1m 08-10T00:50', '5m 08-10T00:50',
        '1m 08-10T00:55',
        '1m 08-10T01:00',
        '1m 08-10T01:05', '5m 08-10T01:05',
        '1m 08-10T01:10', '30m 08-10T01:10',
        '1m 08-10T01:15', '1h 08-10T01:15',
        '1m 08-10T01:20', '5m 08-10T01:20',
      ])
      // One flow at a time, 1 s each: the 00:05 collision runs back to back.
      const at0005 = calls.filter((call) => call.scheduledFor === '2024-08-10T00:05:00Z')
      expect(at0005.map((call) => new Date(call.startedAt).toISOString())).toEqual(['2024-08-10T00:05:00.000Z', '2024-08-10T00:05:01.000Z', '2024-08-10T00:05:02.000Z'])
      expect(runs().every((run) => run.state === 'Completed' && run.trigger === 'scheduled')).toBe(true)
    })

    it('runs 48 hours of schedule exactly: 576, 192, 96, 48 and 2 runs, all Completed, never two at once', async () => {
      const start = '2024-08-10T00:00:00Z'
      const end = '2024-08-12T00:00:00Z'
      const durations: Record<Timeframe, number> = {'1m': 3000, '5m': 5000, '30m': 10_000, '1h': 15_000, '1d': 40_000}
      const flows = Object.fromEntries(TIMEFRAMES.map((tf) => [tf, {durationMs: durations[tf]}]))
      const {clock, calls, runs, maxConcurrency} = startRunner({at: start, historyFile: historyFile(), flows})
      await clock.advanceTo(at(end) + 60_000)

      const counts = Object.fromEntries(TIMEFRAMES.map((tf) => [tf, calls.filter((call) => call.timeframe === tf).length]))
      expect(counts).toEqual({'1m': 576, '5m': 192, '30m': 96, '1h': 48, '1d': 2})
      for (const tf of TIMEFRAMES) {
        const expected = runTimesBetween(TIMEFRAME_SPECS[tf].cron, at(start), at(end)).map((ms) => formatMillis(ms))
        expect(calls.filter((call) => call.timeframe === tf).map((call) => call.scheduledFor)).toEqual(expected)
      }

      expect(maxConcurrency()).toBe(1)
      for (let i = 1; i < calls.length; i++) expect(calls[i].startedAt).toBeGreaterThanOrEqual(calls[i - 1].endedAt!)
      for (const day of ['2024-08-10', '2024-08-11']) {
        expect(calls.filter((call) => call.scheduledFor === `${day}T00:05:00Z`).map((call) => call.timeframe)).toEqual(['1m', '5m', '1d'])
      }

      const records = runs()
      expect(records).toHaveLength(914)
      for (const run of records) {
        expect(run).toMatchObject({state: 'Completed', attempt: 1, durationMs: durations[run.timeframe as Timeframe], candles: 42, trades: 1000, pid: 4242, warehouse: WAREHOUSE})
      }
    })
  })

  describe('retries and timeouts', () => {
    it('retries a failing flow twice, 60 s apart, holding the slot, and records it Failed at attempt 3', async () => {
      const {clock, calls, runs, runner, events} = startRunner({at: '2024-08-10T00:17:00Z', historyFile: historyFile(), flows: {'5m': {durationMs: 0, failAttempts: Infinity}}})
      await clock.advanceTo('2024-08-10T00:20:30Z')
      // Manual run during the retry wait: it waits until the failing flow gave up.
      runner.enqueue({deployment: '1h', trigger: 'manual'})
      await clock.advanceTo('2024-08-10T00:24:00Z')

      const attempts = calls.filter((call) => call.timeframe === '5m')
      expect(attempts.map((call) => [call.attempt, hhmmss(call.startedAt)])).toEqual([
        [1, '00:20:01'],
        [2, '00:21:01'],
        [3, '00:22:01'],
      ])
      expect(new Set(attempts.map((call) => call.runId)).size).toBe(1)
      const failed = runs().find((run) => run.timeframe === '5m')!
      expect(failed).toMatchObject({state: 'Failed', attempt: 3, error: 'bad tape (attempt 3)', note: 'attempt 2 failed: bad tape (attempt 2)', durationMs: 120_000})
      expect(calls.find((call) => call.timeframe === '1h')).toMatchObject({trigger: 'manual', startedAt: at('2024-08-10T00:22:01Z')})
      expect(events.filter((entry) => entry.event === 'run.retry').map((entry) => entry.fields.attempt)).toEqual([1, 2])
      expect(events.filter((entry) => entry.event === 'run.failed')).toHaveLength(1)
    })

    it('ends Completed at attempt 2 when the first attempt throws and the second succeeds (retryOn other)', async () => {
      const deployments = withOverrides({'ohlcv-1h-scheduled': {retryOn: ['busy', 'engine', 'other']}})
      const {clock, calls, runs} = startRunner({at: '2024-08-10T00:14:00Z', historyFile: historyFile(), deployments, flows: {'1h': {durationMs: 0, failAttempts: 1, throws: true}}})
      await clock.advanceTo('2024-08-10T00:18:00Z')

      expect(calls.filter((call) => call.timeframe === '1h').map((call) => hhmmss(call.startedAt))).toEqual(['00:15:01', '00:16:01'])
      expect(runs().find((run) => run.timeframe === '1h')).toMatchObject({state: 'Completed', attempt: 2, note: 'attempt 1 failed: warehouse busy (attempt 1)', candles: 42})
    })

    it('retries only what retryOn names, never a data error, with exponential backoff', async () => {
      const deployments = withOverrides({
        'ohlcv-5m-scheduled': {retries: 3, retryDelaySeconds: 10, retryBackoff: 2},
        'ohlcv-30m-scheduled': {retries: 5, retryOn: ['busy', 'engine', 'other']},
      })
      const flows = {'5m': {durationMs: 0, failAttempts: Infinity}, '30m': {durationMs: 0, failAttempts: Infinity, failure: 'data' as const}, '1h': {durationMs: 0, failAttempts: Infinity, throws: true}}
      const {clock, calls, runs} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), deployments, flows})
      await clock.advanceTo('2024-08-10T00:20:00Z')

      // Busy: retried after 10, 20 and 40 s.
      expect(calls.filter((call) => call.timeframe === '5m' && call.scheduledFor === '2024-08-10T00:05:00Z').map((call) => hhmmss(call.startedAt))).toEqual(['00:05:01', '00:05:11', '00:05:31', '00:06:11'])
      // A data error, and (by default) a failure of unknown kind: one attempt each.
      expect(calls.filter((call) => call.timeframe === '30m')).toHaveLength(1)
      expect(calls.filter((call) => call.timeframe === '1h')).toHaveLength(1)
      expect(runs().find((run) => run.timeframe === '30m')).toMatchObject({state: 'Failed', attempt: 1})
    })

    it('records a hung flow TimedOut at exactly 300 s, without retry, and runs the queued flows afterwards', async () => {
      const flows = {'1m': {durationMs: 2000}, '5m': {hang: true}, '1d': {durationMs: 30_000}}
      const {clock, calls, runs, events} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), flows})
      await clock.advanceTo('2024-08-10T00:12:00Z')

      const hung = calls.filter((call) => call.timeframe === '5m')
      expect(hung).toHaveLength(1)
      expect(hung[0].sawAbort).toBe(true)
      const timedOut = runs().find((run) => run.timeframe === '5m')!
      expect(timedOut).toMatchObject({state: 'TimedOut', attempt: 1, startedAt: '2024-08-10T00:05:02Z', endedAt: '2024-08-10T00:10:02Z', durationMs: 300_000})
      expect(timedOut.error).toMatch(/timed out after 300 s/)
      expect(calls.map((call) => `${label(call)} at ${hhmmss(call.startedAt)}`)).toEqual([
        '1m 08-10T00:05 at 00:05:00',
        '5m 08-10T00:05 at 00:05:02',
        '1d 08-10T00:05 at 00:10:02',
        '1m 08-10T00:10 at 00:10:32',
        '30m 08-10T00:10 at 00:10:34',
      ])
      expect(runs().filter((run) => run.timeframe !== '5m').every((run) => run.state === 'Completed')).toBe(true)
      expect(events.filter((entry) => entry.event === 'run.timed_out')).toHaveLength(1)
    })

    it('records a tick that finds its deployment queued or running as Skipped, and does not run it', async () => {
      const deployments = withOverrides({'ohlcv-5m-scheduled': {timeoutSeconds: 900}})
      const {clock, calls, runs} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), flows: {'5m': {hang: true}}, deployments})
      await clock.advanceTo('2024-08-10T00:24:00Z')

      const skipped = runs().filter((run) => run.state === 'Skipped')
      expect(skipped.map((run) => `${run.timeframe} ${hhmm(run.scheduledFor)} ${run.note?.split(' (')[0]}`)).toEqual([
        '1m 00:15 queued already',
        '1m 00:20 queued already',
        '5m 00:20 running already',
      ])
      expect(skipped.every((run) => run.error === undefined && run.endedAt === run.scheduledFor)).toBe(true)
      // After the 5m timeout (00:20:02): what was queued, in the order it was queued.
      expect(calls.map(label)).toEqual(['1m 08-10T00:05', '5m 08-10T00:05', '1d 08-10T00:05', '1m 08-10T00:10', '30m 08-10T00:10', '1h 08-10T00:15'])
    })
  })

  describe('catch-up', () => {
    it('after a 3-hour stop runs each deployment once, in timeframe order, 1d included when its tick was missed, and records the other missed ticks Skipped', async () => {
      const file = historyFile()
      await runBetween(file, '2024-08-09T00:00:00Z', '2024-08-09T22:40:30Z')
      const before = new RunHistory(file).list()
      const lastTick = (tf: Timeframe) => Math.max(...before.filter((run) => run.timeframe === tf).map((run) => at(run.scheduledFor!)))

      const restart = '2024-08-10T01:40:30Z'
      const {clock, calls, runs} = startRunner({at: restart, historyFile: file, pid: 1002})
      await clock.advanceTo('2024-08-10T01:44:59Z')

      expect(calls.map(label)).toEqual(['1m 08-10T01:40', '5m 08-10T01:35', '30m 08-10T01:40', '1h 08-10T01:15', '1d 08-10T00:05'])
      expect(calls.map((call) => hhmmss(call.startedAt))).toEqual(['01:40:30', '01:40:31', '01:40:32', '01:40:33', '01:40:34'])
      const missed = Object.fromEntries(TIMEFRAMES.map((tf) => [tf, runTimesBetween(TIMEFRAME_SPECS[tf].cron, lastTick(tf), at(restart)).length]))
      expect(missed).toEqual({'1m': 36, '5m': 12, '30m': 6, '1h': 3, '1d': 1})
      const ours = runs().filter((run) => run.pid === 1002)
      for (const tf of TIMEFRAMES) {
        const skipped = ours.filter((run) => run.timeframe === tf && run.state === 'Skipped')
        expect(skipped).toHaveLength(missed[tf] - 1)
        expect(skipped.every((run) => run.note === 'missed while the scheduler was down' && run.trigger === 'scheduled')).toBe(true)
        expect(ours.filter((run) => run.timeframe === tf && run.state === 'Completed')).toHaveLength(1)
      }

      // Then the schedule goes on as usual.
      await clock.advanceTo('2024-08-10T01:45:30Z')
      expect(calls.map(label).slice(5)).toEqual(['1m 08-10T01:45'])
    })

    it('runs once a deployment that never had a scheduled run, when its tick fell in the downtime', async () => {
      const file = historyFile()
      // Up from 08:00 to 22:40: the 1d deployment (00:05) never had a tick to run.
      await runBetween(file, '2024-08-09T08:00:00Z', '2024-08-09T22:40:30Z')
      expect(new RunHistory(file).list().filter((run) => run.timeframe === '1d')).toEqual([])
      const {clock, calls, runs} = startRunner({at: '2024-08-10T01:40:30Z', historyFile: file, pid: 1002})
      await clock.advanceTo('2024-08-10T01:44:59Z')

      expect(calls.map(label)).toEqual(['1m 08-10T01:40', '5m 08-10T01:35', '30m 08-10T01:40', '1h 08-10T01:15', '1d 08-10T00:05'])
      expect(runs().find((run) => run.timeframe === '1d')).toMatchObject({
        state: 'Completed',
        trigger: 'scheduled',
        note: "catch-up: 1 missed tick(s) since the scheduler's last tick (2024-08-09T22:40:00Z); its first scheduled run",
      })
    })

    it('does not run 1d at catch-up when no 1d tick was missed', async () => {
      const file = historyFile()
      await runBetween(file, '2024-08-10T00:00:00Z', '2024-08-10T00:40:30Z')
      const {clock, calls, runs} = startRunner({at: '2024-08-10T03:40:30Z', historyFile: file, pid: 1002})
      await clock.advanceTo('2024-08-10T03:44:59Z')

      expect(calls.map(label)).toEqual(['1m 08-10T03:40', '5m 08-10T03:35', '30m 08-10T03:40', '1h 08-10T03:15'])
      expect(runs().filter((run) => run.pid === 1002 && run.timeframe === '1d')).toEqual([])
    })

    it('with catchUp false runs nothing until the next tick and records no missed ticks', async () => {
      const file = historyFile()
      await runBetween(file, '2024-08-10T00:00:00Z', '2024-08-10T00:40:30Z')
      const {clock, calls, runs} = startRunner({at: '2024-08-10T03:40:30Z', historyFile: file, pid: 1002, catchUp: false})
      await clock.advanceTo('2024-08-10T03:44:59Z')
      expect(calls).toEqual([])

      await clock.advanceTo('2024-08-10T03:45:30Z')
      expect(calls.map(label)).toEqual(['1m 08-10T03:45'])
      expect(runs().filter((run) => run.pid === 1002).map((run) => run.state)).toEqual(['Completed'])
    })

    it('runs again the ticks whose runs were cancelled by the stop', async () => {
      const file = historyFile()
      const first = startRunner({at: '2024-08-10T00:04:00Z', historyFile: file, flows: {'1m': {durationMs: 10_000}}, pid: 1001})
      await first.clock.advanceTo('2024-08-10T00:05:02Z')
      const stopped = first.runner.stop({timeoutMs: 60_000})
      await first.clock.advanceTo('2024-08-10T00:05:30Z')
      await stopped
      expect(first.runs().map((run) => `${run.timeframe} ${run.state}`)).toEqual(['1m Completed', '5m Cancelled', '1d Cancelled'])

      const {clock, calls, runs} = startRunner({at: '2024-08-10T00:06:00Z', historyFile: file, pid: 1002})
      await clock.advanceTo('2024-08-10T00:09:00Z')
      expect(calls.map(label)).toEqual(['5m 08-10T00:05', '1d 08-10T00:05'])
      expect(runs().filter((run) => run.pid === 1002).map((run) => [run.state, run.note])).toEqual([
        ['Completed', 'catch-up: 1 missed tick(s) since 2024-08-10T00:05:00Z'],
        ['Completed', 'catch-up: 1 missed tick(s) since 2024-08-10T00:05:00Z'],
      ])
    })
  })

  describe('stop', () => {
    it('lets the running flow finish within the timeout and cancels the queued runs', async () => {
      const {clock, calls, runs, runner} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), flows: {'1m': {durationMs: 10_000}}})
      await clock.advanceTo('2024-08-10T00:05:02Z')
      const snapshot = runner.snapshot()
      expect(snapshot.running).toMatchObject({timeframe: '1m', state: 'Running', attempt: 1})
      expect(snapshot.queue.map((run) => [run.timeframe, run.state])).toEqual([
        ['5m', 'Scheduled'],
        ['1d', 'Scheduled'],
      ])

      const stopped = runner.stop({timeoutMs: 30_000})
      await clock.advanceTo('2024-08-10T00:06:00Z')
      await stopped

      expect(runs().map((run) => [run.timeframe, run.state, run.endedAt])).toEqual([
        ['1m', 'Completed', '2024-08-10T00:05:10Z'],
        ['5m', 'Cancelled', '2024-08-10T00:05:02Z'],
        ['1d', 'Cancelled', '2024-08-10T00:05:02Z'],
      ])
      expect(calls).toHaveLength(1)
      expect(clock.pendingSleeps).toBe(0)
      expect(() => runner.enqueue({deployment: '1h', trigger: 'manual'})).toThrow(expect.objectContaining({code: 'scheduler_stopping'}))
    })

    it('cancels the running flow at the stop timeout', async () => {
      const {clock, calls, runs, runner} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), flows: {'1m': {durationMs: 100_000}}})
      await clock.advanceTo('2024-08-10T00:05:02Z')
      const stopped = runner.stop({timeoutMs: 30_000})
      await clock.advanceTo('2024-08-10T00:07:00Z')
      await stopped

      expect(calls[0].sawAbort).toBe(true)
      expect(runs().find((run) => run.timeframe === '1m')).toMatchObject({state: 'Cancelled', endedAt: '2024-08-10T00:05:32Z', durationMs: 32_000})
      expect(runs().filter((run) => run.state === 'Running' || run.state === 'Scheduled')).toEqual([])
      expect(clock.pendingSleeps).toBe(0)
    })

    it('does not retry after a stop: a run waiting to retry ends Failed at once', async () => {
      const {clock, calls, runs, runner} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), flows: {'1m': {durationMs: 0, failAttempts: Infinity}}})
      await clock.advanceTo('2024-08-10T00:05:10Z')
      await runner.stop({timeoutMs: 30_000})

      expect(calls).toHaveLength(1)
      expect(runs().find((run) => run.timeframe === '1m')).toMatchObject({state: 'Failed', attempt: 1, note: 'not retried: the scheduler stopped', endedAt: '2024-08-10T00:05:10Z'})
      expect(runs().filter((run) => run.state === 'Running' || run.state === 'Scheduled')).toEqual([])
    })
  })

  describe('manual runs', () => {
    it('runs a manual run at once when idle', async () => {
      const {clock, calls, runs, runner, eventNames} = startRunner({at: '2024-08-10T00:01:00Z', historyFile: historyFile()})
      await clock.advanceTo('2024-08-10T00:01:30Z')
      const queued = runner.enqueue({deployment: '1h', trigger: 'manual'})
      expect(queued).toMatchObject({state: 'Scheduled', trigger: 'manual', deployment: 'ohlcv-1h-scheduled', flow: 'OHLCV-1h-Pipeline', timeframe: '1h'})
      expect(queued.scheduledFor).toBeUndefined()

      await clock.settle()
      expect(calls.map((call) => [call.timeframe, call.runId, hhmmss(call.startedAt)])).toEqual([['1h', queued.id, '00:01:30']])
      await clock.advanceTo('2024-08-10T00:02:00Z')
      expect(runs()).toMatchObject([{id: queued.id, state: 'Completed', trigger: 'manual'}])
      expect(eventNames()).toEqual(['runner.started', 'run.scheduled', 'run.started', 'run.completed'])
    })

    it('queues a manual run behind the running flow, and never queues a deployment twice', async () => {
      const {clock, calls, runner} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), flows: {'1m': {durationMs: 10_000}}})
      await clock.advanceTo('2024-08-10T00:05:01Z')
      expect(runner.enqueue({deployment: 'ohlcv-30m-scheduled', trigger: 'manual'}).state).toBe('Scheduled')
      expect(runner.enqueue({deployment: '5m', trigger: 'manual'})).toMatchObject({state: 'Skipped', note: expect.stringMatching(/^queued already \(run /)})
      expect(runner.enqueue({deployment: 'OHLCV-1m-Pipeline', trigger: 'manual'})).toMatchObject({state: 'Skipped', note: expect.stringMatching(/^running already \(run /)})
      await clock.advanceTo('2024-08-10T00:06:00Z')

      expect(calls.map((call) => `${call.timeframe} ${call.trigger} ${hhmmss(call.startedAt)}`)).toEqual([
        '1m scheduled 00:05:00',
        '5m scheduled 00:05:10',
        '1d scheduled 00:05:11',
        '30m manual 00:05:12',
      ])
    })

    it('throws the usage error of findDeployment for an unknown deployment', () => {
      const {runner} = startRunner({at: '2024-08-10T00:01:00Z', historyFile: historyFile()})
      expect(() => runner.enqueue({deployment: '2h', trigger: 'manual'})).toThrow(UsageError)
      expect(() => runner.enqueue({deployment: '2h', trigger: 'manual'})).toThrow(expect.objectContaining({code: 'unknown_deployment', exit: 2}))
    })
  })

  describe('paused deployments', () => {
    it('gives paused deployments no scheduled runs; manual runs still work; resuming takes effect without a restart', async () => {
      let overrides: Record<string, DeploymentOverrides> = {[deploymentOf('1m')]: {paused: true}, [deploymentOf('1h')]: {paused: true}}
      const {clock, calls, runner, runs} = startRunner({at: '2024-08-10T00:00:00Z', historyFile: historyFile(), deployments: () => loadDeployments(overrides)})
      await clock.advanceTo('2024-08-10T02:00:30Z')

      const count = (tf: Timeframe) => calls.filter((call) => call.timeframe === tf && call.trigger === 'scheduled').length
      expect(TIMEFRAMES.map(count)).toEqual([0, 8, 4, 0, 1])
      const states = runner.snapshot().deployments
      expect(states.map((state) => [state.timeframe, state.paused, state.nextRun])).toEqual([
        ['1m', true, null],
        ['5m', false, '2024-08-10T02:05:00Z'],
        ['30m', false, '2024-08-10T02:10:00Z'],
        ['1h', true, null],
        ['1d', false, '2024-08-11T00:05:00Z'],
        // Maintenance: paused by default on DuckDB.
        [null, true, null],
      ])
      expect(states.find((state) => state.timeframe === '5m')?.lastRun).toMatchObject({state: 'Completed', scheduledFor: '2024-08-10T01:50:00Z'})
      expect(states.find((state) => state.timeframe === '1m')?.lastRun).toBeNull()

      runner.enqueue({deployment: '1m', trigger: 'manual'})
      await clock.advanceTo('2024-08-10T02:01:00Z')
      expect(runs().at(-1)).toMatchObject({timeframe: '1m', trigger: 'manual', state: 'Completed'})

      overrides = {}
      await clock.advanceTo('2024-08-10T02:15:30Z')
      expect(calls.filter((call) => call.trigger === 'scheduled' && call.startedAt > at('2024-08-10T02:01:00Z')).map(label)).toEqual([
        '1m 08-10T02:05', '5m 08-10T02:05',
        '1m 08-10T02:10', '30m 08-10T02:10',
        '1m 08-10T02:15', '1h 08-10T02:15',
      ])
    })

    it('cancels a scheduled run whose deployment is paused while it waits in the queue', async () => {
      let overrides: Record<string, DeploymentOverrides> = {}
      const {clock, calls, runs} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), flows: {'1m': {durationMs: 10_000}}, deployments: () => loadDeployments(overrides)})
      await clock.advanceTo('2024-08-10T00:05:05Z')
      overrides = {[deploymentOf('1d')]: {paused: true}}
      await clock.advanceTo('2024-08-10T00:06:00Z')

      expect(calls.map((call) => call.timeframe)).toEqual(['1m', '5m'])
      expect(runs().find((run) => run.timeframe === '1d')).toMatchObject({state: 'Cancelled', note: 'the deployment was paused while the run was queued'})
    })
  })

  describe('robustness', () => {
    it('keeps the last good deployments when the config stops parsing, and logs it once', async () => {
      let broken = false
      const deployments = () => {
        if (broken) throw new UsageError('config.json: not JSON')
        return loadDeployments(undefined)
      }

      const {clock, calls, events} = startRunner({at: '2024-08-10T00:04:00Z', historyFile: historyFile(), deployments})
      broken = true
      await clock.advanceTo('2024-08-10T00:10:30Z')
      expect(calls.map(label)).toEqual(['1m 08-10T00:05', '5m 08-10T00:05', '1d 08-10T00:05', '1m 08-10T00:10', '30m 08-10T00:10'])
      expect(events.filter((entry) => entry.event === 'config.invalid')).toHaveLength(1)
    })

    it('systemClock sleeps on real timers and wakes early on abort', async () => {
      const before = Date.now()
      await systemClock.sleep(20)
      expect(Date.now() - before).toBeGreaterThanOrEqual(19)

      // Woken by the abort itself, before any timer could fire (no time limit: a missed wake would sleep a minute).
      const abort = new AbortController()
      const sleeping = systemClock.sleep(60_000, abort.signal).then(() => 'woke')
      abort.abort()
      const beforeAnyTimer = new Promise((resolve) => setImmediate(() => resolve('still asleep')))
      expect(await Promise.race([sleeping, beforeAnyTimer])).toBe('woke')
    })
  })
})

function hhmmss(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19)
}
