import {expect} from 'vitest'

import type {StoredCandle} from './warehouse.js'

import {TIMEFRAMES, Timeframe} from '../../src/pipeline/timeframes.js'

// Every stored candle of a home, by key, so that a test can say which candles a command changed.

/** Every stored candle by key (`1m BTCUSDT BINANCE 2024-08-08 01:40:00`), its 14 columns as exact text. */
export type CandleSnapshot = Map<string, Record<string, string | null>>

/** A stored candle, as the engine's SQL names it. */
export interface CandleKey {
  timeframe: Timeframe
  symbol: string
  exchange: string
  /** `2024-08-08 01:40:00` (UTC) */
  start: string
}

/** Names a candle table as the engine's SQL does. */
export type TableName = (tf: Timeframe) => string

export const instantOf = (key: CandleKey) => Date.parse(`${key.start.replace(' ', 'T')}Z`)
export const keyText = (key: CandleKey) => `${key.timeframe} ${key.symbol} ${key.exchange} ${key.start}`
export const whereKey = (key: CandleKey) => `symbol = '${key.symbol}' AND exchange = '${key.exchange}' AND window_start = TIMESTAMP '${key.start}'`
export const deleteCandle = (key: CandleKey) => (table: TableName) => [`DELETE FROM ${table(key.timeframe)} WHERE ${whereKey(key)}`]
export const alterCount = (key: CandleKey) => (table: TableName) => [`UPDATE ${table(key.timeframe)} SET trade_count = trade_count + 1 WHERE ${whereKey(key)}`]

/** Every stored candle of every timeframe, by key. */
export async function snapshot(engine: {candles(home: string, tf: Timeframe): Promise<StoredCandle[]>}, home: string): Promise<CandleSnapshot> {
  const rows: CandleSnapshot = new Map()
  for (const tf of TIMEFRAMES) {
    for (const row of await engine.candles(home, tf)) rows.set(`${tf} ${row.symbol} ${row.exchange} ${row.window_start}`, {...row})
  }

  return rows
}

/** The keys whose rows are not the same in both snapshots, sorted. */
export function changedKeys(before: CandleSnapshot, after: CandleSnapshot): string[] {
  return [...new Set([...before.keys(), ...after.keys()])].filter((key) => JSON.stringify(before.get(key)) !== JSON.stringify(after.get(key))).sort()
}

/** The n-th candle (in key order) of a timeframe, market and day of the snapshot. */
export function pick(snapshot: CandleSnapshot, timeframe: Timeframe, market: string, day: string, n: number): CandleKey {
  const prefix = `${timeframe} ${market} ${day} `
  const keys = [...snapshot.keys()].filter((key) => key.startsWith(prefix)).sort()
  expect(keys.length, prefix).toBeGreaterThan(n)
  const [, symbol, exchange, date, time] = keys[n].split(' ')
  return {timeframe, symbol, exchange, start: `${date} ${time}`}
}
