import {existsSync, readFileSync} from 'node:fs'
import {randomUUID} from 'node:crypto'
import {dirname, join} from 'node:path'

import {forgetHeartbeat, lastSeenAlive} from './heartbeat.js'
import {appendPrivateFile, privateDir} from './private-files.js'
import {currentProcess, isOwnerAlive} from './process-owner.js'
import {closeRun, openRun, setRunProgress} from './run-signals.js'
import {formatMillis} from './time.js'

/** Skipped: a tick missed while the scheduler was down, coalesced into one catch-up run. */
export const RUN_STATES = ['Scheduled', 'Running', 'Completed', 'Failed', 'TimedOut', 'Crashed', 'Cancelled', 'Skipped'] as const
/** States a run ends in. */
export const FINAL_STATES: ReadonlySet<RunState> = new Set(['Completed', 'Failed', 'TimedOut', 'Crashed', 'Cancelled', 'Skipped'])
export type RunState = (typeof RUN_STATES)[number]
export type RunTrigger = 'manual' | 'scheduled' | 'backfill' | 'demo'

export interface RunRecord {
  id: string
  flow: string
  deployment: string
  timeframe: string
  trigger: RunTrigger
  state: RunState
  startedAt: string
  endedAt?: string
  durationMs?: number
  /** The recomputed range of window starts, ISO-8601. */
  rangeFrom?: string
  rangeTo?: string
  candles?: number
  removed?: number
  trades?: number
  lateWindows?: number
  /** The first and the last late window's start, ISO-8601 (none: no late window). */
  lateFrom?: string
  lateTo?: string
  /** Late windows before the timeframe's retention cutoff, left out (none: field absent). */
  lateBeyondRetention?: number
  /** That cutoff, ISO-8601, and the policy's days. */
  retentionCutoff?: string
  retentionDays?: number
  error?: string
  /** The process that runs (or queued) the run; with pidStartTicks, who must be alive while it is Running. */
  pid: number
  /** Clock ticks since boot when `pid` started (Linux), so a reused pid is not taken for the owner. */
  pidStartTicks?: number
  warehouse: string
  /** Scheduled runs: the cron tick this run is for, ISO-8601. */
  scheduledFor?: string
  /** 1 for the first try; retries count up. */
  attempt?: number
  /** Why a run was skipped or cancelled, or what an earlier attempt ran into: for people, not for scripts. */
  note?: string
  /** A run cancelled by someone (`k2ops runs cancel`, the API): who, and when (ISO-8601). */
  cancelledBy?: string
  cancelledAt?: string
}

/** States in which a run needs its owner alive: a dead owner means the run Crashed. */
const OPEN_STATES: ReadonlySet<RunState> = new Set(['Scheduled', 'Running'])

/**
 * Run history is an append-only JSON-lines file in the home, outside the warehouse, so any process
 * can read it while a long job holds the warehouse. A run is written when it starts and again when
 * it ends; the last line for an id wins. A run left Scheduled or Running by a process that is gone
 * (killed, or the machine went down) reads as Crashed.
 */
export class RunHistory {
  /** `clock` (ms since the epoch) stamps start and end; the scheduler's tests pass a fake one. */
  constructor(
    /** null: nothing is stored (a flow run by the scheduler's child process: the scheduler records it). */
    readonly file: string | null,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Records a run of this process as Running; until it is finished, a SIGINT or SIGTERM records it
   * Cancelled (run-signals.ts), with what `progress` last said was kept.
   */
  start(run: Omit<RunRecord, 'id' | 'state' | 'startedAt' | 'pid'> & {id?: string; startedAt?: string}): RunRecord {
    const record: RunRecord = {...currentProcess(), ...run, id: run.id ?? randomUUID(), state: 'Running', startedAt: run.startedAt ?? formatMillis(this.clock())}
    this.append(record)
    if (this.file) openRun(this, record)
    return record
  }

  /** What an interruption of this open run keeps (e.g. "2 of 6 days done, through 2024-01-02"): told to the user and stored. */
  progress(run: RunRecord, kept: string, rerun?: string): void {
    setRunProgress(run.id, kept, rerun)
  }

  finish(run: RunRecord, outcome: Partial<RunRecord> & {state: RunState}): RunRecord {
    closeRun(run.id)
    // An outcome may say when the run ended (a crash: when its process was last seen alive).
    const endedMs = outcome.endedAt === undefined ? this.clock() : Date.parse(outcome.endedAt)
    const record: RunRecord = {...run, ...outcome, endedAt: formatMillis(endedMs), durationMs: endedMs - Date.parse(run.startedAt)}
    this.append(record)
    return record
  }

  /** Finishes the run with this id as `outcome` if it is still Scheduled or Running as stored; returns it then. */
  finishIfOpen(id: string, outcome: Partial<RunRecord> & {state: RunState}): RunRecord | undefined {
    const stored = this.stored().get(id)
    return stored && OPEN_STATES.has(stored.state) ? this.finish(stored, outcome) : undefined
  }

  /** Stores a run as it is now (any state); the last line for an id wins. */
  write(record: RunRecord): RunRecord {
    this.append(record)
    return record
  }

  /** The run with this id, as list() shows it. */
  get(id: string): RunRecord | undefined {
    const run = this.stored().get(id)
    return run && this.asRead(run)
  }

  /**
   * Stores as Crashed the runs that read as Crashed (left open by a process that is gone), so the
   * record keeps when it was found. Returns them.
   */
  markCrashed(): RunRecord[] {
    const crashed: RunRecord[] = []
    for (const run of this.stored().values()) {
      if (this.ownerIsGone(run)) crashed.push(this.finish(run, this.crashedOutcome(run)))
    }

    if (this.file) for (const run of crashed) forgetHeartbeat(join(dirname(this.file), 'alive'), run)

    return crashed
  }

  /** Every run, newest first; one left open by a process that is gone reads as Crashed. */
  list(): RunRecord[] {
    return [...this.stored().values()]
      .map((run) => this.asRead(run))
      .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt))
  }

  /** A run as readers see it: one left open by a process that is gone reads as Crashed. */
  private asRead(run: RunRecord): RunRecord {
    if (!this.ownerIsGone(run)) return run
    const outcome = this.crashedOutcome(run)
    return {...run, ...outcome, ...(outcome.endedAt !== undefined && {durationMs: Date.parse(outcome.endedAt) - Date.parse(run.startedAt)})}
  }

  /** Crashed, at the time its process was last seen alive (its heartbeat) when that is known. */
  private crashedOutcome(run: RunRecord): {state: 'Crashed'; error: string; endedAt?: string} {
    const seen = this.file === null ? undefined : lastSeenAlive(join(dirname(this.file), 'alive'), run)
    const error = `process ${run.pid} ended while the run was ${run.state}`
    if (seen === undefined) return {state: 'Crashed', error}
    const endedAt = formatMillis(Math.max(Date.parse(run.startedAt), Math.floor(seen)))
    return {state: 'Crashed', error: `${error} (last seen alive at ${endedAt})`, endedAt}
  }

  private ownerIsGone(run: RunRecord): boolean {
    return OPEN_STATES.has(run.state) && !isOwnerAlive({pid: run.pid, pidStartTicks: run.pidStartTicks})
  }

  /** The last line of each run, as stored. */
  private stored(): Map<string, RunRecord> {
    const byId = new Map<string, RunRecord>()
    if (!this.file || !existsSync(this.file)) return byId
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue
      try {
        const record = JSON.parse(line) as RunRecord
        byId.set(record.id, record)
      } catch {
        // A line cut short by a crash mid-write: the run's other line still tells its story.
      }
    }

    return byId
  }

  private append(record: RunRecord): void {
    if (!this.file) return
    privateDir(dirname(this.file))
    appendPrivateFile(this.file, JSON.stringify(record) + '\n')
  }
}
