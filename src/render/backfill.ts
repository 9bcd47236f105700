import type {BackfillDryRun, BackfillResult} from '../commands/backfill/index.js'
import type {BackfillLedger, LedgerCounts} from '../pipeline/backfill-ledger.js'
import type {DayState} from '../pipeline/backfill-ledger.js'

import {marketText} from '../market-flags.js'
import {plural} from '../pipeline/words.js'
import {progressBar} from './tasks.js'
import {renderTable} from './table.js'

export function renderBackfillResult(result: BackfillResult, narrowed: boolean): string {
  if (result.daysDoneBefore > 0 && result.daysDoneBefore === result.days) return `Nothing to resume: all ${plural(result.days, 'day')} of backfill ${result.id} are done.`
  if (result.tradeSpan === null && result.days === 0) return `Nothing to backfill: no trades from ${result.from} to ${result.to}.`
  if (result.days === 0) return `Nothing to backfill: the trades from ${result.tradeSpan!.first} to ${result.tradeSpan!.last} are all in windows that have not closed (--include-open writes them).`
  const lines: string[] = []
  if (narrowed && result.tradeSpan) lines.push(`Trades from ${result.tradeSpan.first} to ${result.tradeSpan.last} only: the rest of ${result.from} → ${result.to} has nothing to rebuild.`)
  const did = result.days - result.daysDoneBefore
  const resumed = result.daysDoneBefore > 0 ? ` (resumed: ${result.daysDoneBefore} were done before)` : ''
  lines.push(`Backfilled ${result.timeframes.join(', ')}${result.market ? ` of ${marketText(result.market)}` : ''}: ${plural(did, 'day')}${resumed}, ${plural(result.candles, 'candle')} written, ${result.removed} removed, in ${result.durationMs} ms (backfill ${result.id?.slice(0, 8)})`)
  for (const range of result.ranges) lines.push(`  ${range.timeframe.padEnd(3)} ${range.from} → ${range.to}`)
  return lines.join('\n')
}

export function renderBackfillPlan(plan: BackfillDryRun): string {
  if (plan.tradeSpan === null) return `Nothing to backfill: no trades from ${plan.from} to ${plan.to}.`
  if (plan.days.length === 0) return `Nothing to backfill: the trades from ${plan.tradeSpan.first} to ${plan.tradeSpan.last} are all in windows that have not closed (--include-open writes them).`
  const trades = plan.days.reduce((sum, day) => sum + day.trades, 0)
  const stored = plan.days.reduce((sum, day) => sum + day.candlesStored, 0)
  return [
    `Dry run: would rebuild ${plan.timeframes.join(', ')}${plan.market ? ` of ${marketText(plan.market)}` : ''} over ${plural(plan.days.length, 'day')} (${plural(trades, 'trade')}; ${plural(stored, 'candle')} stored there now would be replaced). Nothing was changed.`,
    renderTable(['DAY', 'TRADES', 'CANDLES NOW', 'TIMEFRAMES'], plan.days.map((day) => [day.day, day.trades, day.candlesStored, day.timeframes.join(',')]), {alignRight: [1, 2]}),
  ].join('\n')
}

export function renderLedger(ledger: BackfillLedger, counts: LedgerCounts, state: (day: BackfillLedger['days'][number]) => DayState, run: {state: string} | undefined, resume: string): string {
  const managed = ledger.managed ? `; in the scheduler: ${ledger.managed.state}` : ''
  const header = `Backfill ${ledger.id}: ${ledger.timeframes.join(', ')} ${ledger.from} → ${ledger.to}${run || managed ? ` (${run ? `last run ${run.state}` : ''}${run ? managed : managed.slice(2)})` : ''}`
  const bar = `${progressBar(counts.done, counts.total)} days done · ${counts.running} running · ${counts.pending} pending · ${counts.failed} failed`
  const errors = ledger.days.some((day) => day.error)
  const rows = ledger.days.map((day) => [day.day, state(day), day.candles ?? '', day.trades ?? '', day.endedAt ?? '', ...(errors ? [day.error ?? ''] : [])])
  const lines = [header, bar, renderTable(['DAY', 'STATE', 'CANDLES', 'TRADES', 'ENDED', ...(errors ? ['ERROR'] : [])], rows, {alignRight: [2, 3]})]
  if (counts.done < counts.total && counts.running === 0 && ledger.managed?.state !== 'queued') lines.push(`Next: ${resume} redoes the ${plural(counts.total - counts.done, 'day')} not done.`)
  return lines.join('\n')
}
