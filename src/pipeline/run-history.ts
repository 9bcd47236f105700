import {appendFileSync, existsSync, mkdirSync, readFileSync} from 'node:fs'
import {randomUUID} from 'node:crypto'
import {dirname} from 'node:path'
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
  error?: string
  pid: number
  warehouse: string
  /** Scheduled runs: the cron tick this run is for, ISO-8601. */
  scheduledFor?: string
  /** 1 for the first try; retries count up. */
  attempt?: number
  /** Why a run was skipped or cancelled, or what an earlier attempt ran into: for people, not for scripts. */
  note?: string
}

/**
 * Run history is an append-only JSON-lines file in the home, outside the warehouse, so any process
 * can read it while a long job holds the warehouse. A run is written when it starts and again when
 * it ends; the last line for an id wins.
 */
export class RunHistory {
  /** `clock` (ms since the epoch) stamps start and end; the scheduler's tests pass a fake one. */
  constructor(
    /** null: nothing is stored (a flow run by the scheduler's child process: the scheduler records it). */
    readonly file: string | null,
    private readonly clock: () => number = Date.now,
  ) {}

  start(run: Omit<RunRecord, 'id' | 'state' | 'startedAt' | 'pid'> & {id?: string; startedAt?: string}): RunRecord {
    const record: RunRecord = {pid: process.pid, ...run, id: run.id ?? randomUUID(), state: 'Running', startedAt: run.startedAt ?? formatMillis(this.clock())}
    this.append(record)
    return record
  }

  finish(run: RunRecord, outcome: Partial<RunRecord> & {state: RunState}): RunRecord {
    const endedAt = new Date(this.clock())
    const record: RunRecord = {...run, ...outcome, endedAt: formatMillis(endedAt.getTime()), durationMs: endedAt.getTime() - Date.parse(run.startedAt)}
    this.append(record)
    return record
  }

  /** Stores a run as it is now (any state); the last line for an id wins. */
  write(record: RunRecord): RunRecord {
    this.append(record)
    return record
  }

  /** The run with this id, as last written. */
  get(id: string): RunRecord | undefined {
    return this.list().find((run) => run.id === id)
  }

  /**
   * Runs left Scheduled or Running by a process that is gone (killed, or the machine went down)
   * are marked Crashed. Returns them.
   */
  markCrashed(isAlive: (pid: number) => boolean, ownPid = process.pid): RunRecord[] {
    const crashed: RunRecord[] = []
    for (const run of this.list()) {
      if ((run.state === 'Running' || run.state === 'Scheduled') && run.pid !== ownPid && !isAlive(run.pid)) {
        crashed.push(this.finish(run, {state: 'Crashed', error: `process ${run.pid} ended while the run was ${run.state}`}))
      }
    }

    return crashed
  }

  /** Every run, newest first. */
  list(): RunRecord[] {
    if (!this.file || !existsSync(this.file)) return []
    const byId = new Map<string, RunRecord>()
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue
      try {
        const record = JSON.parse(line) as RunRecord
        byId.set(record.id, record)
      } catch {
        // A line cut short by a crash mid-write: the run's other line still tells its story.
      }
    }

    return [...byId.values()].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt))
  }

  private append(record: RunRecord): void {
    if (!this.file) return
    mkdirSync(dirname(this.file), {recursive: true, mode: 0o700})
    appendFileSync(this.file, JSON.stringify(record) + '\n', {mode: 0o600})
  }
}
