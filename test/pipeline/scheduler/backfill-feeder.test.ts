import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import type {BackfillLedger} from '../../../src/pipeline/backfill-ledger.js'
import type {FlowExecutor} from '../../../src/pipeline/scheduler/types.js'

import {planBackfill} from '../../../src/pipeline/backfill.js'
import {loadDeployments} from '../../../src/pipeline/deployments.js'
import {listLedgers, newLedger, saveLedger} from '../../../src/pipeline/backfill-ledger.js'
import {BackfillFeeder} from '../../../src/pipeline/scheduler/backfill-feeder.js'
import {TIMEFRAMES} from '../../../src/pipeline/timeframes.js'
import {startRunner} from '../../helpers/schedule-runner-harness.js'
import {useTempDir} from '../../helpers/temp-home.js'

// A month-long managed backfill in the schedule runner, on a fake clock: its days run one at a
// time between the scheduled runs, and no tick of the flows waits longer than one day's unit.

const UNIT_MS = 3 * 60_000
const MICROS = 1000

/** The unit's process, as the fake sees it: takes UNIT_MS, then marks the next day of its ledger done. */
function unitExecutor(stateDir: string): (fake: FlowExecutor, clock: {sleep(ms: number, signal?: AbortSignal): Promise<void>}) => FlowExecutor {
  return (fake, clock) => async (deployment, run, signal) => {
    if (deployment.flow !== 'backfill') return fake(deployment, run, signal)
    await clock.sleep(UNIT_MS, signal)
    const ledger = listLedgers(stateDir).find((candidate) => deployment.command.includes(candidate.id))!
    const day = ledger.days.find((candidate) => candidate.state !== 'done')!
    Object.assign(day, {state: 'done', runId: run.id, candles: 1, trades: 1})
    ledger.runs.push(run.id)
    saveLedger(stateDir, ledger)
    return {state: 'Completed'}
  }
}

describe('managed backfills in the schedule runner', () => {
  const tempDir = useTempDir()

  it('runs a month of day units between the scheduled runs: every tick starts within one unit of its time, and the backfill ends done', async () => {
    const dir = tempDir()
    const stateDir = join(dir, 'state')
    const month = planBackfill([...TIMEFRAMES], Date.parse('2024-06-01T00:00:00Z') * MICROS, Date.parse('2024-07-01T00:00:00Z') * MICROS, Date.parse('2024-12-01T00:00:00Z') * MICROS)
    const ledger: BackfillLedger = newLedger({id: '5b9af287-cb28-4de7-a0ea-db06e1b78025', timeframes: [...TIMEFRAMES], from: '2024-06-01T00:00:00Z', to: '2024-07-01T00:00:00Z', includeOpen: false, force: false}, month, 0, true)
    saveLedger(stateDir, ledger)
    expect(ledger.days).toHaveLength(30)

    let feeder!: BackfillFeeder
    const configured = loadDeployments(undefined)
    const harness = startRunner({
      at: '2024-12-01T00:00:30Z',
      historyFile: join(stateDir, 'runs.jsonl'),
      catchUp: false,
      executor: unitExecutor(stateDir),
      onLog: (event) => feeder?.afterEvent(event),
      deployments: () => [...configured, ...(feeder?.deployments() ?? [])],
    })
    feeder = new BackfillFeeder({stateDir, history: harness.history, runner: harness.runner, log: () => {}})
    feeder.feedSoon()
    // Ten hours of schedule: 30 units of 3 min, between the flows' ticks.
    for (let minute = 1; minute <= 600; minute++) await harness.clock.advanceTo(Date.parse('2024-12-01T00:00:30Z') + minute * 60_000)

    const done = JSON.parse(readFileSync(join(stateDir, 'backfills', `${ledger.id}.json`), 'utf8')) as BackfillLedger
    expect(done.days.every((day) => day.state === 'done')).toBe(true)
    const runs = harness.runs()
    const units = runs.filter((run) => run.flow === 'backfill')
    expect(units).toHaveLength(30)
    expect(units.every((run) => run.state === 'Completed' && run.deployment === 'backfill-5b9af287')).toBe(true)

    // Every scheduled tick ran (none skipped as busy), and none waited more than one unit (plus the
    // other flows due at the same tick, a second each).
    const scheduled = runs.filter((run) => run.trigger === 'scheduled')
    expect(scheduled.filter((run) => run.state === 'Skipped')).toEqual([])
    const oneMinute = scheduled.filter((run) => run.deployment === 'ohlcv-1m-scheduled')
    expect(oneMinute.length).toBeGreaterThanOrEqual(100)
    const waits = scheduled.map((run) => Date.parse(run.startedAt) - Date.parse(run.scheduledFor!))
    expect(Math.max(...waits)).toBeLessThanOrEqual(UNIT_MS + 5000)
    // The units really ran between ticks: some tick did wait for one.
    expect(Math.max(...waits)).toBeGreaterThan(5000)
    // The backfill's units ran while the flows kept their schedule, not after it.
    expect(Date.parse(units.at(-1)!.startedAt)).toBeGreaterThan(Date.parse(oneMinute[0].startedAt))
    feeder.stop()
    await harness.runner.stop({timeoutMs: 0})
  })
})
