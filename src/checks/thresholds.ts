import {checkedSection} from '../pipeline/config-file.js'
import {THRESHOLDS_SCHEMA} from '../pipeline/config-schema.js'
import {Timeframe} from '../pipeline/timeframes.js'

export interface Limits {
  warn: number
  fail: number
}

/** Every threshold of the checks. The config file's `thresholds` object overrides any part of it. */
export interface Thresholds {
  /** Newest trade − newest candle end, per timeframe (the pipeline is behind). */
  candleLagMinutes: Record<Timeframe, Limits>
  /** Now − newest trade, per exchange (the feed is down). */
  sourceLagMinutes: Limits
  /** Share of the last 24 h's finished runs that completed: below warn warns, below fail fails. */
  runSuccessRate: Limits
  /** A flow failing more than this many times in a row fails. */
  consecutiveFailures: number
  /** A flow's p95 duration above its target × this ratio warns. */
  durationRatio: number
  /** Silence on a liquid pair at least this long is an ingest gap. */
  ingestGapMinutes: number
  /** ...where the pair's own average rate expects at least this many trades. */
  ingestGapExpectedTrades: number
  /** Trades stamped this far past now are in the future. */
  futureToleranceSeconds: number
  /** Free space on the warehouse's file system, in percent: below warn warns, below fail fails. */
  diskFreePercent: Limits
}

/** The runbook's targets and alerts; other timeframes scale with their schedule. */
export const DEFAULT_THRESHOLDS: Thresholds = {
  candleLagMinutes: {
    '1m': {warn: 5, fail: 10},
    '5m': {warn: 20, fail: 40},
    '30m': {warn: 45, fail: 90},
    '1h': {warn: 90, fail: 180},
    '1d': {warn: 26 * 60, fail: 50 * 60},
  },
  sourceLagMinutes: {warn: 5, fail: 10},
  runSuccessRate: {warn: 0.99, fail: 0.95},
  consecutiveFailures: 3,
  durationRatio: 1.5,
  ingestGapMinutes: 60,
  ingestGapExpectedTrades: 100,
  futureToleranceSeconds: 60,
  diskFreePercent: {warn: 10, fail: 5},
}

/** The defaults with the config file's `thresholds` laid over them, under the config schema's rules (exit 2 naming a bad key). */
export function resolveThresholds(overrides: unknown, where = 'config.json: thresholds'): Thresholds {
  if (overrides === undefined) return DEFAULT_THRESHOLDS
  return merge(DEFAULT_THRESHOLDS, checkedSection(THRESHOLDS_SCHEMA, overrides, where)) as Thresholds
}

function merge(defaults: unknown, override: unknown): unknown {
  if (typeof override !== 'object' || override === null) return override ?? defaults
  const merged: Record<string, unknown> = {...(defaults as Record<string, unknown>)}
  for (const [key, value] of Object.entries(override)) merged[key] = merge(merged[key], value)
  return merged
}
