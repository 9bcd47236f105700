import {randomUUID} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {dirname} from 'node:path'

import {appendPrivateFile, privateDir} from './private-files.js'

/** One destructive operation, as it is remembered: what, when, who, with which plan, and how it ended. */
export interface AuditRecord {
  id: string
  /** `retention`, `recover`, … */
  command: string
  /** When it ran (the command's clock, ISO-8601). */
  at: string
  user: string
  host: string
  outcome: 'completed' | 'failed'
  error?: string
  /** The operation's own account: policy, plan, rows deleted per table, before/after… */
  details: Record<string, unknown>
}

/**
 * The audit trail of destructive commands: an append-only JSON-lines file in the home
 * (`<home>/state/audit.jsonl`), outside the warehouse, so it survives whatever happens to it.
 */
export class AuditLog {
  constructor(readonly file: string) {}

  append(entry: Omit<AuditRecord, 'id' | 'user' | 'host'>): AuditRecord {
    const record: AuditRecord = {id: randomUUID(), user: currentUser(), host: hostname(), ...entry}
    privateDir(dirname(this.file))
    appendPrivateFile(this.file, JSON.stringify(record) + '\n')
    return record
  }

  /** Every record, newest first; `command` keeps one command's. */
  list(command?: string): AuditRecord[] {
    if (!existsSync(this.file)) return []
    const records: AuditRecord[] = []
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue
      try {
        records.push(JSON.parse(line) as AuditRecord)
      } catch {
        // A line cut short by a crash mid-write: skip it, keep the rest.
      }
    }

    return records.filter((record) => command === undefined || record.command === command).reverse()
  }
}

function currentUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'unknown'
  }
}
