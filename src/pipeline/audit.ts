import {randomUUID} from 'node:crypto'
import {closeSync, existsSync, fsyncSync, readFileSync, writeSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {dirname} from 'node:path'

import {openPrivateFile, privateDir} from './private-files.js'
import {currentProcess, isOwnerAlive} from './process-owner.js'

/**
 * How a destructive operation ended. `started`: its intent is recorded and no outcome yet (it runs,
 * or was killed); `interrupted`: it was killed before it recorded an outcome, as a later run found;
 * `cancelled`: stopped by SIGINT (Ctrl-C) or SIGTERM, with what it had done.
 */
export type AuditOutcome = 'started' | 'completed' | 'failed' | 'interrupted' | 'cancelled'

/** One destructive operation, as it is remembered: what, when, who, with which plan, and how it ended. */
export interface AuditRecord {
  id: string
  /** `retention`, `recover`, … */
  command: string
  /** When it ran (the command's clock, ISO-8601). */
  at: string
  user: string
  host: string
  /** The process that ran it: a `started` record whose process is gone was interrupted. */
  pid?: number
  /** Clock ticks since boot when `pid` started (Linux), so a reused pid is not taken for it. */
  pidStartTicks?: number
  outcome: AuditOutcome
  error?: string
  /** The operation's own account: policy, plan, rows deleted per table, before/after… */
  details: Record<string, unknown>
}

type NewRecord = Omit<AuditRecord, 'id' | 'user' | 'host' | 'pid' | 'pidStartTicks'>

/**
 * The audit trail of destructive commands: an append-only JSON-lines file in the home
 * (`<home>/state/audit.jsonl`), outside the warehouse, so it survives whatever happens to it.
 *
 * A destructive run writes two lines with one id: its intent (`started`, with the plan) before it
 * changes anything, and its outcome after. A kill between the two leaves the intent, so the trail
 * never misses a deletion or a repair; `list` shows such a run as `interrupted`.
 */
export class AuditLog {
  constructor(readonly file: string) {}

  /** A record of an operation that is over (refused, or failed before it changed anything). */
  append(entry: NewRecord): AuditRecord {
    const record: AuditRecord = {id: randomUUID(), user: currentUser(), host: hostname(), ...currentProcess(), ...entry}
    this.write(record)
    return record
  }

  /** The intent, written (and synced) before the first change: what the run is about to do. */
  begin(entry: Omit<NewRecord, 'outcome' | 'error'>): AuditRecord {
    return this.append({...entry, outcome: 'started'})
  }

  /** The outcome of a begun run, under its id; `details` are laid over the intent's. */
  finish(started: AuditRecord, outcome: {outcome: Exclude<AuditOutcome, 'started'>; error?: string; details?: Record<string, unknown>}): AuditRecord {
    const record: AuditRecord = {...started, outcome: outcome.outcome, ...(outcome.error === undefined ? {} : {error: outcome.error}), details: {...started.details, ...outcome.details}}
    this.write(record)
    return record
  }

  /**
   * Every operation once, newest first, as its last line says (the outcome over the intent);
   * `command` keeps one command's. An intent whose process is gone shows as `interrupted`.
   */
  list(command?: string): AuditRecord[] {
    return this.latest(command).map((record) => (record.outcome === 'started' && !stillRunning(record) ? {...record, outcome: 'interrupted' as const} : record))
  }

  /**
   * The runs of `command` on `warehouse` that recorded an intent and never an outcome: killed ones.
   * Call it while holding that warehouse (read-only or read-write): a run writes its intent and its
   * outcome while it holds the warehouse read-write, so none of them can be running now, whatever
   * their pid (which may have been reused) says.
   */
  interrupted(command: string, warehouse: string): AuditRecord[] {
    return this.latest(command).filter((record) => record.outcome === 'started' && record.details.warehouse === warehouse && record.pid !== process.pid)
  }

  /** Each operation's last line, the newest operation first. */
  private latest(command?: string): AuditRecord[] {
    if (!existsSync(this.file)) return []
    const byId = new Map<string, AuditRecord>()
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue
      try {
        const record = JSON.parse(line) as AuditRecord
        // A later line of the same operation replaces its record in place: operations stay in the order they began.
        byId.set(record.id, record)
      } catch {
        // A line cut short by a crash mid-write: skip it, keep the rest.
      }
    }

    return [...byId.values()].filter((record) => command === undefined || record.command === command).reverse()
  }

  private write(record: AuditRecord): void {
    privateDir(dirname(this.file))
    // Synced: the intent must be on disk before the deletion it announces.
    const fd = openPrivateFile(this.file, 'a')
    try {
      writeSync(fd, JSON.stringify(record) + '\n')
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }
}

/** Is the process of a `started` record alive on this host (records from other hosts are taken as running)? */
function stillRunning(record: AuditRecord): boolean {
  // Another host's process (or a record without a pid) cannot be looked at from here.
  if (record.pid === undefined || record.host !== hostname()) return true
  if (record.pid === process.pid) return true
  return isOwnerAlive({pid: record.pid, pidStartTicks: record.pidStartTicks})
}

function currentUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'unknown'
  }
}
