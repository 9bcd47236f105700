import {UsageError} from './errors.js'

export const TIMEFRAMES = ['1m', '5m', '30m', '1h', '1d'] as const
export type Timeframe = (typeof TIMEFRAMES)[number]

const MINUTE_US = 60_000_000

export interface TimeframeSpec {
  name: Timeframe
  /** Window length in microseconds; every window starts at a multiple of it (epoch-aligned, UTC). */
  micros: number
  table: string
  flow: string
  deployment: string
  cron: string
  job: 'incremental' | 'batch'
  /** Default lookback of a scheduled or manual run, in microseconds. */
  lookbackMicros: number
  /** The runbook's duration target for one run. */
  targetSeconds: number
  retentionDays: number
}

function spec(name: Timeframe, minutes: number, cron: string, job: TimeframeSpec['job'], lookbackMinutes: number, targetSeconds: number, retentionDays: number): TimeframeSpec {
  return {
    name,
    micros: minutes * MINUTE_US,
    table: `market_data.gold_ohlcv_${name}`,
    flow: `OHLCV-${name}-Pipeline`,
    deployment: `ohlcv-${name}-scheduled`,
    cron,
    job,
    lookbackMicros: lookbackMinutes * MINUTE_US,
    targetSeconds,
    retentionDays,
  }
}

/** The five flows of the runbook, with its crons (UTC), lookbacks, targets and retention. */
export const TIMEFRAME_SPECS: Record<Timeframe, TimeframeSpec> = {
  '1m': spec('1m', 1, '*/5 * * * *', 'incremental', 10, 20, 90),
  '5m': spec('5m', 5, '5,20,35,50 * * * *', 'incremental', 20, 30, 180),
  '30m': spec('30m', 30, '10,40 * * * *', 'batch', 60, 45, 365),
  '1h': spec('1h', 60, '15 * * * *', 'batch', 120, 60, 1095),
  '1d': spec('1d', 1440, '5 0 * * *', 'batch', 2880, 120, 1825),
}

export function isTimeframe(value: string): value is Timeframe {
  return (TIMEFRAMES as readonly string[]).includes(value)
}

/** `1m` → ['1m'], `all` → every timeframe; anything else is a usage error naming the flag. */
export function parseTimeframes(value: string, where = '--timeframe'): Timeframe[] {
  if (value === 'all') return [...TIMEFRAMES]
  const names = value.split(',').map((part) => part.trim())
  for (const name of names) {
    if (!isTimeframe(name)) {
      throw new UsageError(`${where}: unknown timeframe '${name}' (expected one of ${TIMEFRAMES.join(', ')} or all)`, {code: 'unknown_timeframe'})
    }
  }

  return TIMEFRAMES.filter((tf) => names.includes(tf))
}

export function floorToWindow(micros: number, tf: Timeframe): number {
  const size = TIMEFRAME_SPECS[tf].micros
  return Math.floor(micros / size) * size
}

export function ceilToWindow(micros: number, tf: Timeframe): number {
  const size = TIMEFRAME_SPECS[tf].micros
  return Math.ceil(micros / size) * size
}
