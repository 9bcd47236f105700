import {Args, Flags} from '@oclif/core'
import {userInfo} from 'node:os'

import type {CancelOutcome} from '../../pipeline/cancel-run.js'

import {BaseCommand} from '../../base-command.js'
import {ExitCode, K2Error} from '../../pipeline/errors.js'

const HOW: Record<CancelOutcome['how'], string> = {
  queued: 'removed from the scheduler\'s queue before it started',
  scheduler: 'its flow process was stopped by the scheduler',
  signal: 'its process stopped on SIGTERM',
  killed: 'its process ignored SIGTERM and was killed',
  already: 'it was cancelled before; nothing to do',
}

export default class RunsCancel extends BaseCommand<typeof RunsCancel> {
  static override summary = 'Stop a running run, or remove a queued one: the run is recorded Cancelled, with who cancelled it and when.'
  static override description = `A run of the scheduler is cancelled through its API: a queued one never starts, a running one has its flow process stopped, and the next queued run starts right after. A run of a command (k2ops backfill or trigger in another terminal) gets a SIGTERM: it records itself Cancelled and stops; a process still there after --timeout is killed. What a cancelled run had committed stays (one transaction or one Iceberg commit per unit of work: a day of a backfill, a flow run); rerunning it gives the candles of one clean run. Exit 0 when the run is Cancelled (or was already), 1 when it had ended otherwise or did not stop in time.`

  static override examples = ['<%= config.bin %> runs cancel 3f2a9c1e', '<%= config.bin %> runs --state Running', '<%= config.bin %> runs cancel 3f2a9c1e --timeout 30 --json']

  static override args = {
    id: Args.string({description: 'The run id, or its first 8 characters or more (k2ops runs shows them).', required: true}),
  }

  static override flags = {
    timeout: Flags.integer({summary: 'Seconds the run may take to stop before its process is killed (a command\'s run) or the command gives up waiting (a scheduler run).', default: 10, min: 1}),
  }

  async run(): Promise<CancelOutcome> {
    const {cancelRun} = await import('../../pipeline/cancel-run.js')
    const by = `${userInfo().username} (k2ops runs cancel)`
    const outcome = await cancelRun(this.home, this.args.id, {by, timeoutMs: this.flags.timeout * 1000})
    const {run} = outcome
    if (run.state !== 'Cancelled') {
      throw new K2Error(`run ${run.id} ended ${run.state} before the cancel took effect${run.error ? `: ${run.error}` : ''}`, {code: 'run_ended', exit: ExitCode.failed})
    }

    if (!this.jsonEnabled()) {
      this.log(`Cancelled ${run.flow} run ${run.id}: ${HOW[outcome.how]}.`)
      if (run.note?.startsWith('kept: ')) this.log(`Kept: ${run.note.slice('kept: '.length)}; rerun the same command to finish.`)
    }

    return outcome
  }
}
