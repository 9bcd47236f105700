import {dirname, join} from 'node:path'

import type {RunHistory, RunRecord} from './run-history.js'

import {startHeartbeat} from './heartbeat.js'

// The runs this process has open (trigger, backfill, recover from the command line), and what a
// SIGINT (Ctrl-C) or a SIGTERM (kill, systemd, `k2ops runs cancel`) does to them: each is recorded
// Cancelled with what was kept, the user is told how to finish the job, and the process ends: exit
// 130 for SIGINT, killed by SIGTERM (a shell's 143) for SIGTERM. What a run was writing when the
// signal came never committed: the engine rolls it back, and the units of work done before it stay.

interface OpenRun {
  history: RunHistory
  run: RunRecord
  /** What an interruption keeps, as the run last said. */
  kept?: string
  /** The command that finishes the job (default: this command line again). */
  rerun?: string
}

const openRuns = new Map<string, OpenRun>()
/** Jobs that are not runs (recover, which the audit trail records): each says how it is recorded, and what to tell. */
const openJobs = new Map<string, (how: string, rerun: string) => string>()
/** Stops this process's heartbeat: it beats while any run is open. */
let stopHeartbeat: (() => void) | undefined
const SIGNALS = ['SIGINT', 'SIGTERM'] as const

export function openRun(history: RunHistory, run: RunRecord): void {
  openRuns.set(run.id, {history, run})
  if (history.file) stopHeartbeat ??= startHeartbeat(join(dirname(history.file), 'alive'))
  for (const signal of SIGNALS) if (!process.listeners(signal).includes(onSignal)) process.once(signal, onSignal)
}

export function setRunProgress(id: string, kept: string, rerun?: string): void {
  const open = openRuns.get(id)
  if (open) Object.assign(open, {kept}, rerun !== undefined && {rerun})
}

/** A job of this process that a SIGINT or SIGTERM must record: `stop` records it and returns the line for the user. */
export function openJob(id: string, stop: (how: string, rerun: string) => string): void {
  openJobs.set(id, stop)
  for (const signal of SIGNALS) if (!process.listeners(signal).includes(onSignal)) process.once(signal, onSignal)
}

export function closeJob(id: string): void {
  openJobs.delete(id)
  closeRun(id)
}

export function closeRun(id: string): void {
  openRuns.delete(id)
  if (openRuns.size > 0 || openJobs.size > 0) return
  for (const signal of SIGNALS) process.removeListener(signal, onSignal)
  stopHeartbeat?.()
  stopHeartbeat = undefined
}

function onSignal(signal: NodeJS.Signals): void {
  const how = signal === 'SIGINT' ? 'stopped by SIGINT (Ctrl-C) before it finished' : 'stopped by SIGTERM before it finished'
  const lines: string[] = []
  for (const {history, run, kept, rerun} of [...openRuns.values()]) {
    try {
      history.finish(run, {state: 'Cancelled', error: how, ...(kept !== undefined && {note: `kept: ${kept}`})})
    } catch {
      // Recording must not keep the process from stopping (a full disk, say).
    }

    lines.push(`k2ops: ${run.flow} run ${run.id.slice(0, 8)} ${how}; recorded Cancelled. ${kept === undefined ? 'Nothing of it was kept' : `Kept: ${kept}`}; rerun \`${rerun ?? rerunCommand()}\` to finish.`)
  }

  for (const stop of openJobs.values()) {
    try {
      lines.push(stop(how, rerunCommand()))
    } catch {
      // As above: the process stops whatever the recording did.
    }
  }

  for (const other of SIGNALS) process.removeListener(other, onSignal)
  // A task list's spinner may have hidden the cursor.
  if (process.stderr.isTTY) process.stderr.write('\u001B[?25h\n')
  process.stderr.write(lines.join('\n') + '\n')
  if (signal === 'SIGINT') process.exit(130)
  if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM')
}

/** The command line of this process, as a user would type it again. */
function rerunCommand(): string {
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)
  return ['k2ops', ...process.argv.slice(2).map(quote)].join(' ')
}
