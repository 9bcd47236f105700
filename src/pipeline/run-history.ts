import {appendFileSync, existsSync, mkdirSync, readFileSync} from 'node:fs'
import {randomUUID} from 'node:crypto'
import {dirname} from 'node:path'

export const RUN_STATES = ['Scheduled', 'Running', 'Completed', 'Failed', 'TimedOut', 'Crashed', 'Cancelled'] as const
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
  error?: string
  pid: number
  warehouse: string
}

/**
 * Run history is an append-only JSON-lines file in the home, outside the warehouse, so any process
 * can read it while a long job holds the warehouse. A run is written when it starts and again when
 * it ends; the last line for an id wins.
 */
export class RunHistory {
  constructor(readonly file: string) {}

  start(run: Omit<RunRecord, 'id' | 'state' | 'startedAt' | 'pid'> & {startedAt?: string}): RunRecord {
    const record: RunRecord = {id: randomUUID(), state: 'Running', pid: process.pid, ...run, startedAt: run.startedAt ?? new Date().toISOString()}
    this.append(record)
    return record
  }

  finish(run: RunRecord, outcome: Partial<RunRecord> & {state: RunState}): RunRecord {
    const endedAt = new Date()
    const record: RunRecord = {...run, ...outcome, endedAt: endedAt.toISOString(), durationMs: endedAt.getTime() - Date.parse(run.startedAt)}
    this.append(record)
    return record
  }

  /** Every run, newest first. */
  list(): RunRecord[] {
    if (!existsSync(this.file)) return []
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

    return [...byId.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt))
  }

  private append(record: RunRecord): void {
    mkdirSync(dirname(this.file), {recursive: true, mode: 0o700})
    appendFileSync(this.file, JSON.stringify(record) + '\n', {mode: 0o600})
  }
}
