import {Flags} from '@oclif/core'

import type {Home} from './pipeline/home.js'

/** The hidden flags of a command that the scheduler runs as a child process (a flow, maintenance, a backfill day). */
export const schedulerRunFlags = {
  'run-by-scheduler': Flags.boolean({hidden: true, summary: 'The scheduler runs this and records it: store no run history.'}),
  'run-id': Flags.string({hidden: true, summary: "With --run-by-scheduler: the scheduler's run, recorded Crashed by this process if the scheduler dies."}),
  'scheduler-pid': Flags.integer({hidden: true, summary: 'With --run-by-scheduler: the scheduler; when it is gone, this process stops.'}),
}

/** A run for the scheduler ends with it: no orphan when the daemon is killed. */
export async function endWithTheScheduler(flags: {'scheduler-pid'?: number; 'run-id'?: string}, home: Home, report: (line: string) => void): Promise<void> {
  const {endWithScheduler} = await import('./pipeline/scheduler/watch-parent.js')
  endWithScheduler({schedulerPid: flags['scheduler-pid'] ?? process.ppid, runId: flags['run-id'], historyFile: home.runHistoryFile, report})
}
