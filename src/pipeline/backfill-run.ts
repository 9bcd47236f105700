import type {Engine} from './engine/engine.js'
import type {BackfillLedger, LedgerDay} from './backfill-ledger.js'
import type {RunHistory} from './run-history.js'

import {backfillChunk, settleBackfillWatermarks} from './backfill.js'
import {resumeCommand, saveLedger} from './backfill-ledger.js'
import {pauseForTest} from './test-hooks.js'
import {formatMillis, formatMicros} from './time.js'
import {firstLine, plural} from './words.js'

export interface LedgerRunOptions {
  history: RunHistory
  stateDir: string
  nowMicros: number
  /** The run record's id (a new backfill: the ledger's own). */
  runId: string
  /** The --home, --warehouse, --engine flags given, for the resume command told to the user. */
  homeArgs?: string[]
  /** Do at most this many days (a managed backfill's unit: 1); the rest stay pending. */
  maxDays?: number
  /** After each day. */
  onDay?: (day: LedgerDay, done: number, total: number) => void
}

export interface LedgerTotals {
  candles: number
  removed: number
  trades: number
  /** Days this run did (a resume: only the ones not done before). */
  days: number
}

/**
 * Does the days of the ledger that are not done, in order, each in one unit of work, and records
 * each day's state as it goes: a kill or Ctrl-C keeps the days finished, and `backfill --resume`
 * redoes only the others. When every day is done, the flows' watermarks move as a plain backfill's do.
 */
export async function runLedger(engine: Engine, ledger: BackfillLedger, options: LedgerRunOptions): Promise<LedgerTotals> {
  const {history, stateDir, runId} = options
  const first = ledger.days[0]?.chunk.fromMicros ?? 0
  const last = ledger.days.at(-1)?.chunk.toMicros ?? 0
  const record = history.start({
    id: runId,
    flow: 'backfill',
    deployment: '-',
    timeframe: ledger.timeframes.join(','),
    trigger: 'backfill',
    warehouse: engine.target,
    rangeFrom: formatMicros(first),
    rangeTo: formatMicros(last),
    ...(runId !== ledger.id && {note: `resumes backfill ${ledger.id}`}),
  })
  if (!ledger.runs.includes(runId)) ledger.runs.push(runId)
  saveLedger(stateDir, ledger)

  const totals: LedgerTotals = {candles: 0, removed: 0, trades: 0, days: 0}
  const doneCount = () => ledger.days.filter((day) => day.state === 'done').length
  const kept = () => {
    const done = ledger.days.filter((day) => day.state === 'done')
    return `${done.length} of ${plural(ledger.days.length, 'day')} done${done.length > 0 ? ` (${done[0].day} … ${done.at(-1)!.day})` : ''}`
  }

  history.progress(record, kept(), resumeCommand(ledger, options.homeArgs))
  try {
    for (const day of ledger.days) {
      if (day.state === 'done') continue
      if (options.maxDays !== undefined && totals.days >= options.maxDays) break
      Object.assign(day, {state: 'running', runId})
      delete day.error
      saveLedger(stateDir, ledger)
      try {
        const result = await backfillChunk(engine, day.chunk, options.nowMicros)
        Object.assign(day, {state: 'done', ...result, endedAt: formatMillis(Date.now())})
      } catch (error) {
        Object.assign(day, {state: 'failed', error: firstLine((error as Error).message), endedAt: formatMillis(Date.now())})
        throw error
      } finally {
        saveLedger(stateDir, ledger)
      }

      totals.candles += day.candles ?? 0
      totals.removed += day.removed ?? 0
      totals.trades += day.trades ?? 0
      totals.days++
      history.progress(record, kept(), resumeCommand(ledger, options.homeArgs))
      options.onDay?.(day, doneCount(), ledger.days.length)
      await pauseForTest('after-backfill-day')
    }

    // Once every day is done, and only then, the flows' marks may move past what it covered.
    if (doneCount() === ledger.days.length) await settleBackfillWatermarks(engine, {ranges: ledger.ranges, chunks: ledger.days.map((day) => day.chunk)}, options.nowMicros)
    history.finish(record, {state: 'Completed', candles: totals.candles, removed: totals.removed, trades: totals.trades})
    return totals
  } catch (error) {
    history.finish(record, {state: 'Failed', error: firstLine((error as Error).message), note: `kept: ${kept()}; ${resumeCommand(ledger, options.homeArgs)} finishes it`})
    throw error
  }
}
