import type {CandleRow, Engine} from '../../src/pipeline/engine/engine.js'

import {openEngine} from '../../src/pipeline/engine/index.js'
import {resolveHome} from '../../src/pipeline/home.js'
import {TIMEFRAMES} from '../../src/pipeline/timeframes.js'

export type MarketCandles = Record<string, CandleRow[]>

/**
 * Every candle of every timeframe of every market an engine holds, keyed `EXCHANGE SYMBOL TF`, as
 * engine.readCandles gives them (decimals as exact text): what `k2ops candles --json` prints.
 */
export async function everyCandle(engine: Engine): Promise<MarketCandles> {
  const {markets} = await engine.summarize()
  const all: MarketCandles = {}
  for (const {exchange, symbol} of markets) {
    for (const timeframe of TIMEFRAMES) all[`${exchange} ${symbol} ${timeframe}`] = await engine.readCandles({symbol, exchange, timeframe, limit: 100_000})
  }

  return all
}

/** everyCandle of a DuckDB home's warehouse, opened read-only. */
export async function duckdbCandles(dir: string): Promise<MarketCandles> {
  const engine = await openEngine(resolveHome({home: dir, defaultDir: dir}), {operation: 'test read', lockTimeoutMs: 30_000, readOnly: true})
  try {
    return await everyCandle(engine)
  } finally {
    await engine.close()
  }
}
