import type {BackfillPlan} from './backfill.js'
import type {Home} from './home.js'

import {checkedSection} from './config-file.js'
import {RETENTION_SCHEMA} from './config-schema.js'
import {UsageError} from './errors.js'
import {formatMicros} from './time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe, isTimeframe} from './timeframes.js'

/** What a retention policy applies to: a candle table by its timeframe, or the source trades. */
export const RETENTION_TARGETS = [...TIMEFRAMES, 'trades'] as const
export type RetentionTarget = (typeof RETENTION_TARGETS)[number]

/** Days kept per table. `trades` is null when no policy is set: source trades are kept forever by default. */
export type RetentionPolicies = Record<Timeframe, number> & {trades: number | null}

/** The runbook's policies with the config file's `retention` section laid over them. */
export function resolveRetentionPolicies(section: unknown, where = 'config.json: retention'): RetentionPolicies {
  const policies: RetentionPolicies = {...defaultPolicies(), trades: null}
  for (const [target, days] of Object.entries(checkedSection(RETENTION_SCHEMA, section, where))) {
    if (days !== undefined) policies[target as RetentionTarget] = days
  }

  return policies
}

function defaultPolicies(): Record<Timeframe, number> {
  return Object.fromEntries(TIMEFRAMES.map((tf) => [tf, TIMEFRAME_SPECS[tf].retentionDays])) as Record<Timeframe, number>
}

/**
 * `all` → every candle table, and the trades when their policy is set; otherwise a comma list of
 * timeframes and `trades`. Naming `trades` without a policy is a usage error: there is nothing to apply.
 */
export function parseRetentionTargets(value: string, policies: RetentionPolicies, where = '--timeframe'): RetentionTarget[] {
  if (value.trim() === 'all') return RETENTION_TARGETS.filter((target) => target !== 'trades' || policies.trades !== null)
  const names = value.split(',').map((part) => part.trim())
  for (const name of names) {
    if (!isTimeframe(name) && name !== 'trades') {
      throw new UsageError(`${where}: unknown table '${name}' (expected one of ${RETENTION_TARGETS.join(', ')} or all)`, {code: 'unknown_timeframe'})
    }

    if (name === 'trades' && policies.trades === null) {
      throw new UsageError(`${where} trades: no retention policy is set for the source trades (they are kept by default)`, {
        code: 'no_trades_policy',
        hint: 'Set one in the config file, e.g. {"retention": {"trades": 730}}.',
      })
    }
  }

  return RETENTION_TARGETS.filter((target) => names.includes(target))
}

/** The policies of the chosen targets, in the order they are applied (candles from 1m up, trades last). */
export function selectPolicies(policies: RetentionPolicies, targets: RetentionTarget[]): Partial<Record<RetentionTarget, number>> {
  const selected: Partial<Record<RetentionTarget, number>> = {}
  for (const target of RETENTION_TARGETS) {
    const days = policies[target]
    if (targets.includes(target) && days !== null) selected[target] = days
  }

  return selected
}

/** The UTC date of an instant in µs: `2026-03-01`. */
export function utcDate(micros: number): string {
  return formatMicros(micros).slice(0, 10)
}

/** The first date a policy keeps: today (UTC) minus its days. Rows dated before it go. */
export function retentionCutoff(today: string, days: number): string {
  return new Date(Date.parse(`${today}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10)
}

/** Per timeframe, the first instant (µs) its retention policy keeps now: windows starting before it are retention's to delete. */
export type KeptFrom = Record<Timeframe, {fromMicros: number; policyDays: number}>

/**
 * Where each candle table's retention cutoff lies now, by the home's configured policies (the
 * checks, backfill and recover leave what retention removes alone: it is no gap, nothing to rebuild).
 */
export function retentionKeptFrom(home: Pick<Home, 'config' | 'configFile'>, nowMicros: number): KeptFrom {
  const policies = resolveRetentionPolicies(home.config.retention, `${home.configFile}: retention`)
  const today = utcDate(nowMicros)
  return Object.fromEntries(TIMEFRAMES.map((tf) => [tf, {fromMicros: Date.parse(`${retentionCutoff(today, policies[tf])}T00:00:00Z`) * 1000, policyDays: policies[tf]}])) as KeptFrom
}

/** A timeframe whose range was cut at its retention cutoff. */
export interface RetentionClamp {
  timeframe: Timeframe
  /** The first kept instant, ISO-8601: windows before it were left out. */
  cutoff: string
  policyDays: number
}

/**
 * Cuts each range (window starts [fromMicros, toMicros) of one timeframe) at its timeframe's cutoff:
 * what retention deletes is not rebuilt. Ranges wholly before it are dropped. Works on backfill and
 * recover ranges alike; `clamped` says which timeframes were cut, for the command to say so.
 */
export function clampToRetention<R extends {timeframe: Timeframe; fromMicros: number; toMicros: number}>(ranges: R[], keptFrom: KeptFrom): {ranges: R[]; clamped: RetentionClamp[]} {
  const clamped = new Map<Timeframe, RetentionClamp>()
  const kept: R[] = []
  for (const range of ranges) {
    const {fromMicros: cutoff, policyDays} = keptFrom[range.timeframe]
    if (range.fromMicros < cutoff) clamped.set(range.timeframe, {timeframe: range.timeframe, cutoff: formatMicros(cutoff), policyDays})
    const fromMicros = Math.max(range.fromMicros, cutoff)
    if (range.toMicros > fromMicros) kept.push({...range, fromMicros})
  }

  return {ranges: kept, clamped: [...clamped.values()]}
}

/** A backfill plan without the windows before each timeframe's retention cutoff (its day chunks cut alike). */
export function clampBackfillPlan(plan: BackfillPlan, keptFrom: KeptFrom): {plan: BackfillPlan; clamped: RetentionClamp[]} {
  const {ranges, clamped} = clampToRetention(plan.ranges, keptFrom)
  const chunks: BackfillPlan['chunks'] = []
  for (const chunk of plan.chunks) {
    const kept = clampToRetention(chunk.ranges, keptFrom).ranges
    if (kept.length > 0) chunks.push({fromMicros: Math.min(...kept.map((r) => r.fromMicros)), toMicros: Math.max(...kept.map((r) => r.toMicros)), ranges: kept})
  }

  return {plan: {ranges, chunks}, clamped}
}
