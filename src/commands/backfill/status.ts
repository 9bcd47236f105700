import {Args} from '@oclif/core'

import type {BackfillLedger, DayState, LedgerCounts} from '../../pipeline/backfill-ledger.js'

import {BaseCommand} from '../../base-command.js'
import {effectiveState, findLedger, homeArgs, ledgerCounts, resumeCommand} from '../../pipeline/backfill-ledger.js'
import {RunHistory} from '../../pipeline/run-history.js'
import {renderLedger} from '../../render/backfill.js'

export default class BackfillStatus extends BaseCommand<typeof BackfillStatus> {
  static override summary = 'Show a backfill\'s days: done, running, pending and failed, with a progress bar.'
  static override description = 'Reads <home>/state/backfills/ID.json and the run history only, never the warehouse, so it answers while the backfill runs. Without an ID: the newest backfill. A day left running by a run that was killed or cancelled shows as pending: k2ops backfill --resume ID redoes it.'
  static override examples = ['<%= config.bin %> backfill status', '<%= config.bin %> backfill status 3f2a9c1e', "<%= config.bin %> backfill status --json | jq '.counts'"]

  static override args = {
    id: Args.string({description: 'The backfill id (its first 8 characters or more); the newest when left out.'}),
  }

  async run(): Promise<{backfill: BackfillLedger; counts: LedgerCounts; days: Array<{day: string; state: DayState}>; lastRun: {id: string; state: string} | null}> {
    const ledger = findLedger(this.home.stateDir, this.args.id)
    const history = new RunHistory(this.home.runHistoryFile)
    const runs = new Map(history.list().map((run) => [run.id, run]))
    const isRunning = (id: string) => runs.get(id)?.state === 'Running'
    const counts = ledgerCounts(ledger, isRunning)
    const last = runs.get(ledger.runs.at(-1) ?? '')
    if (!this.jsonEnabled()) this.log(renderLedger(ledger, counts, (day) => effectiveState(day, isRunning), last, resumeCommand(ledger, homeArgs(this.argv))))
    return {backfill: ledger, counts, days: ledger.days.map((day) => ({day: day.day, state: effectiveState(day, isRunning)})), lastRun: last ? {id: last.id, state: last.state} : null}
  }
}
