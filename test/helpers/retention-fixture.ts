import {join} from 'node:path'

import type {TestTrade} from './warehouse.js'

import {AuditLog} from '../../src/pipeline/audit.js'
import {TIMEFRAMES, Timeframe} from '../../src/pipeline/timeframes.js'

// The warehouse layout the retention tests share (DuckDB e2e and the per-engine suite): candles on
// both sides of every default policy's cutoff, today's candles, and a few old trades.

export const NOW = '2026-03-01T12:00:00Z'
export const TODAY = '2026-03-01'
/** Today minus 90, 180, 365, 1095 and 1825 days, counted by hand (2024-02-29 lies inside the last two). */
export const CUTOFFS: Record<Timeframe, string> = {'1m': '2025-12-01', '5m': '2025-09-02', '30m': '2025-03-01', '1h': '2023-03-02', '1d': '2021-03-02'}
/** The last window of a day, the one right before the next day's cutoff edge. */
const LAST_WINDOW: Record<Timeframe, string> = {'1m': '23:59', '5m': '23:55', '30m': '23:30', '1h': '23:00', '1d': '00:00'}

export function shiftDate(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)
}

/** Per timeframe: rows on the day before the cutoff (at its last window) and three days before go; the cutoff day (at 00:00) and later stay. */
const LAYOUT: Array<{offset: number; rows: number; time: (tf: Timeframe) => string}> = [
  {offset: -3, rows: 2, time: () => '00:00'},
  {offset: -1, rows: 3, time: (tf) => LAST_WINDOW[tf]},
  {offset: 0, rows: 2, time: () => '00:00'},
  {offset: 1, rows: 1, time: () => '00:00'},
]

/** A candle to store straight into a timeframe's table (no trades behind it). */
export interface SeedCandle {
  tf: Timeframe
  symbol: string
  start: string
}

/** What a retention test stores before it runs the CLI. */
export interface RetentionSeed {
  candles: SeedCandle[]
  trades: TestTrade[]
}

export function doomedDays(tf: Timeframe): Array<{date: string; rows: number}> {
  return LAYOUT.filter((day) => day.offset < 0).map((day) => ({date: shiftDate(CUTOFFS[tf], day.offset), rows: day.rows}))
}

/** Every `tf date` key the default policies delete from the edge layout. */
export function allDoomed(): string[] {
  return TIMEFRAMES.flatMap((tf) => doomedDays(tf).map((day) => `${tf} ${day.date}`))
}

/** Candles on both sides of every policy's edge and today's candles, and two old trades (no trades policy: they stay). */
export function edgeSeed(): RetentionSeed {
  const candles: SeedCandle[] = []
  for (const tf of TIMEFRAMES) {
    for (const day of LAYOUT) {
      for (let i = 0; i < day.rows; i++) candles.push({tf, symbol: `SYM${i}USDT`, start: `${shiftDate(CUTOFFS[tf], day.offset)}T${day.time(tf)}:00Z`})
    }

    candles.push({tf, symbol: 'BTCUSDT', start: `${TODAY}T00:00:00Z`})
  }

  return {
    candles,
    trades: [
      {id: '1', at: '2020-01-01T00:00:01Z', price: '7000', qty: '1'},
      {id: '2', at: '2020-01-01T00:00:02Z', price: '7001', qty: '2'},
    ],
  }
}

/** Trades every 37 minutes of three days (2026-01-28 to 01-30): a trades policy of 30 days deletes the first two. */
export function tradeDays(): TestTrade[] {
  const trades: TestTrade[] = []
  for (const day of ['2026-01-28', '2026-01-29', '2026-01-30']) {
    for (let minute = 0; minute < 1440; minute += 37) {
      const at = new Date(Date.parse(`${day}T00:00:00Z`) + minute * 60_000 + 1500).toISOString()
      trades.push({id: `${day}-${minute}`, at, price: String(100 + (minute % 11)), qty: String(1 + (minute % 4))})
    }
  }

  return trades
}

export function without(counts: Record<string, number>, keys: string[]): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([key]) => !keys.includes(key)))
}

/** The home's audit records, oldest first. */
export function auditRecords(home: string): Array<Record<string, any>> {
  return new AuditLog(join(home, 'state', 'audit.jsonl')).list().reverse()
}
