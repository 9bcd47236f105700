import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import type {BackfillChunk, BackfillPlan} from './backfill.js'
import type {MarketScope} from './engine/engine.js'
import type {Timeframe} from './timeframes.js'

import {UsageError} from './errors.js'
import {privateDir, replacePrivateFile} from './private-files.js'
import {SHORT_ID_LENGTH} from './run-lookup.js'
import {formatMillis, formatMicros} from './time.js'

export type DayState = 'pending' | 'running' | 'done' | 'failed'

export interface LedgerDay {
  /** The UTC day, YYYY-MM-DD. */
  day: string
  state: DayState
  /** The chunk: the ranges of each timeframe in this day, in µs. */
  chunk: BackfillChunk
  candles?: number
  removed?: number
  trades?: number
  /** The run that did (or is doing, or failed) it. */
  runId?: string
  endedAt?: string
  error?: string
}

/**
 * A backfill's per-day status, kept in `<home>/state/backfills/<id>.json` beside the run history:
 * what it was asked, the days it planned, and where each is. `backfill --resume ID` redoes the days
 * not done with the same plan; `backfill status` reads it. The id is its first run's.
 */
export interface BackfillLedger {
  id: string
  createdAt: string
  timeframes: Timeframe[]
  /** The range asked for, and the one the trades narrowed it to (ISO-8601). */
  from: string
  to: string
  includeOpen: boolean
  force: boolean
  /** --symbol/--exchange: only this market (absent: every market). */
  market?: MarketScope
  /** The plan's ranges per timeframe (µs): for the watermarks once every day is done. */
  ranges: BackfillPlan['ranges']
  /** Every run that worked on it, oldest first (the first and its resumes). */
  runs: string[]
  days: LedgerDay[]
  /** A backfill run by the scheduler (`--via-scheduler`): queued until done, failed or cancelled. */
  managed?: {state: 'queued' | 'done' | 'failed' | 'cancelled'; submittedAt: string; endedAt?: string; /** The scheduler's run of its latest unit. */ lastUnit?: string}
}

export function ledgerDir(stateDir: string): string {
  return join(stateDir, 'backfills')
}

export function newLedger(request: Omit<BackfillLedger, 'days' | 'runs' | 'createdAt' | 'ranges' | 'managed'>, plan: BackfillPlan, nowMs: number, managed = false): BackfillLedger {
  const createdAt = formatMillis(nowMs)
  return {
    ...request,
    createdAt,
    ranges: plan.ranges,
    // A managed backfill's runs are the scheduler's units; a plain one's first run has its id.
    runs: managed ? [] : [request.id],
    ...(managed && {managed: {state: 'queued' as const, submittedAt: createdAt}}),
    days: plan.chunks.map((chunk) => ({day: formatMicros(chunk.fromMicros).slice(0, 10), state: 'pending', chunk})),
  }
}

/** Writes the ledger whole (a temporary file renamed over it: a kill never leaves half of one). */
export function saveLedger(stateDir: string, ledger: BackfillLedger): void {
  const dir = ledgerDir(stateDir)
  privateDir(dir)
  const file = join(dir, `${ledger.id}.json`)
  replacePrivateFile(file, JSON.stringify(ledger) + '\n')
}

export function listLedgers(stateDir: string): BackfillLedger[] {
  const dir = ledgerDir(stateDir)
  if (!existsSync(dir)) return []
  const ledgers: BackfillLedger[] = []
  for (const name of readdirSync(dir).filter((entry) => entry.endsWith('.json'))) {
    try {
      ledgers.push(JSON.parse(readFileSync(join(dir, name), 'utf8')) as BackfillLedger)
    } catch {
      // A ledger that cannot be read is no ledger (it is rewritten whole at every step).
    }
  }

  return ledgers.sort((a, b) => a.createdAt.localeCompare(b.createdAt))
}

/** The ledger with this id (or its first 8 characters or more), or the newest when none is given. */
export function findLedger(stateDir: string, idOrPrefix?: string): BackfillLedger {
  const ledgers = listLedgers(stateDir)
  if (idOrPrefix === undefined) {
    const newest = ledgers.at(-1)
    if (!newest) throw new UsageError('no backfill recorded in this home yet', {code: 'unknown_backfill', hint: 'k2ops backfill --timeframe all --from … --to … starts one'})
    return newest
  }

  const wanted = idOrPrefix.trim().toLowerCase()
  if (wanted.length < SHORT_ID_LENGTH) throw new UsageError(`backfill id '${idOrPrefix}': give at least ${SHORT_ID_LENGTH} characters of it`, {code: 'unknown_backfill'})
  // A resume's run id finds its backfill too.
  const matches = ledgers.filter((ledger) => ledger.id.startsWith(wanted) || ledger.runs.some((id) => id.startsWith(wanted)))
  if (matches.length === 1) return matches[0]
  if (matches.length > 1) throw new UsageError(`backfill id '${idOrPrefix}' matches ${matches.length} backfills: give more of it`, {code: 'ambiguous_backfill'})
  throw new UsageError(`no backfill '${idOrPrefix}' in ${ledgerDir(stateDir)}`, {code: 'unknown_backfill', hint: 'k2ops backfill status lists the newest; k2ops runs --flow backfill lists them all'})
}

export interface LedgerCounts {
  done: number
  running: number
  pending: number
  failed: number
  total: number
}

/** Days per state; a day left `running` by a run that is no longer running counts as pending (`isRunning` tells). */
export function ledgerCounts(ledger: BackfillLedger, isRunning: (runId: string) => boolean): LedgerCounts {
  const counts: LedgerCounts = {done: 0, running: 0, pending: 0, failed: 0, total: ledger.days.length}
  for (const day of ledger.days) counts[effectiveState(day, isRunning)]++
  return counts
}

export function effectiveState(day: LedgerDay, isRunning: (runId: string) => boolean): DayState {
  return day.state === 'running' && !(day.runId && isRunning(day.runId)) ? 'pending' : day.state
}

/** The command that finishes it; `homeArgs`: the --home, --warehouse and --engine this process was given. */
export function resumeCommand(ledger: BackfillLedger, homeArgs: readonly string[] = []): string {
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)
  return ['k2ops', 'backfill', '--resume', ledger.id.slice(0, SHORT_ID_LENGTH), ...homeArgs.map(quote)].join(' ')
}

const HOME_FLAGS = new Set(['--home', '--warehouse', '--engine'])

/** The flags of `argv` that choose the home, the warehouse and the engine, for a command told to the user. */
export function homeArgs(argv: readonly string[]): string[] {
  const picked: string[] = []
  for (const [index, arg] of argv.entries()) {
    const name = arg.split('=')[0]
    if (!HOME_FLAGS.has(name)) continue
    if (arg.includes('=')) picked.push(arg)
    else if (index + 1 < argv.length) picked.push(arg, argv[index + 1])
  }

  return picked
}
