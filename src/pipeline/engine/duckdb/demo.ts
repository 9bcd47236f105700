import type {EngineSummary} from '../engine.js'
import type {Warehouse} from './warehouse.js'

import {mkdirSync} from 'node:fs'
import {join} from 'node:path'

import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../timeframes.js'
import {MICROS_PER_DAY} from '../../time.js'
import {loadDuckDB} from './duckdb-module.js'
import {DEMO_MARKETS, syntheticTradesSql} from './synthetic-trades.js'

export interface DemoTapes {
  main: string
  late: string
  /** The late batch: trades in windows long built (older than every lookback). */
  lateFromMicros: number
  lateToMicros: number
}

/**
 * Writes the demo's two tapes (K2-contract Parquet) with a throwaway in-memory DuckDB: a main tape
 * of `trades` over the four days before now, and a small late batch at its start, older than
 * every flow's lookback (the 1d flow looks back two days, from midnight).
 */
export async function writeDemoTapes(dir: string, options: {trades: number; nowMicros: number; seed?: number}): Promise<DemoTapes> {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const {DuckDBInstance} = loadDuckDB()
  const instance = await DuckDBInstance.create(':memory:', {memory_limit: '512MB'})
  const connection = await instance.connect()
  const to = options.nowMicros
  const from = Math.floor((to - 4 * MICROS_PER_DAY) / 60_000_000) * 60_000_000
  const lateFrom = from + 5 * 60_000_000
  const lateTo = lateFrom + 3_600_000_000
  const tapes = {main: join(dir, 'demo-trades.parquet'), late: join(dir, 'demo-late-trades.parquet'), lateFromMicros: lateFrom, lateToMicros: lateTo}
  try {
    const main = syntheticTradesSql({markets: DEMO_MARKETS, trades: options.trades, fromMicros: from, toMicros: to, seed: options.seed})
    await connection.run(`COPY (${main}) TO '${tapes.main.replaceAll("'", "''")}' (FORMAT parquet)`)
    const late = syntheticTradesSql({markets: DEMO_MARKETS.slice(0, 2), trades: 40, fromMicros: lateFrom, toMicros: lateTo, seed: (options.seed ?? 42) + 1, firstId: 900_000_000})
    await connection.run(`COPY (${late}) TO '${tapes.late.replaceAll("'", "''")}' (FORMAT parquet)`)
  } finally {
    connection.closeSync()
    instance.closeSync()
  }

  return tapes
}

/** engine.ts summarize. */
export async function summarizeWarehouse(warehouse: Warehouse): Promise<EngineSummary> {
  const markets = await warehouse.json<{exchange: string; symbol: string; trades: string; from: string; to: string}>(
    `SELECT exchange, symbol, count(*) AS trades,
            strftime(make_timestamp(min("timestamp")), '%Y-%m-%dT%H:%M:%SZ') AS "from",
            strftime(make_timestamp(max("timestamp")), '%Y-%m-%dT%H:%M:%SZ') AS "to"
     FROM market_data.gold_crypto_trades GROUP BY ALL ORDER BY exchange, symbol`,
  )
  const candles: Record<string, number> = {}
  for (const tf of TIMEFRAMES) {
    const row = await warehouse.one<{n: bigint}>(`SELECT count(*) AS n FROM ${TIMEFRAME_SPECS[tf].table}`)
    candles[tf] = Number(row.n)
  }

  return {
    trades: markets.reduce((sum, m) => sum + Number(m.trades), 0),
    markets: markets.map((m) => ({...m, trades: Number(m.trades)})),
    candles,
  }
}
