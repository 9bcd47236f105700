import type {Engine} from './engine/engine.js'
import type {ReadTimeframe} from './read-timeframe.js'
import type {ReadCandle} from './resample.js'

import {FillMode, FilledCandle, fillGaps} from './gap-fill.js'
import {resample} from './resample.js'
import {sourceOf, sourcesPerWindow, windowOf} from './read-timeframe.js'

/** The most stored candles one read resamples. */
const MAX_SOURCE_ROWS = 2_000_000

export interface CandleReadRequest {
  /** One symbol, several, or (absent) every one. */
  symbol?: string | string[]
  exchange?: string
  timeframe: ReadTimeframe
  fromMicros?: number
  toMicros?: number
  /** The newest this many candles. */
  limit: number
  /** What a window without trades reads as (default none: absent). */
  fill?: FillMode
  /** Now: windows that have not started are never filled. */
  nowMicros: number
}

/**
 * The newest `limit` candles of a read timeframe in a range, oldest first: a stored timeframe as
 * stored; any other built from the stored candles that tile it (the range widened to its windows).
 */
export async function readTimeframeCandles(engine: Pick<Engine, 'readCandles'>, request: CandleReadRequest): Promise<ReadCandle[] | FilledCandle[]> {
  const candles = await readTraded(engine, request)
  if (request.fill === undefined || request.fill === 'none' || candles.length === 0) return candles
  const notAfter = windowOf(request.timeframe, request.nowMicros).start
  const toMicros = request.toMicros === undefined ? undefined : Math.min(windowOf(request.timeframe, request.toMicros - 1).end, notAfter)
  return fillGaps(candles, request.timeframe, request.fill, toMicros).slice(-request.limit)
}

/** The candles with trades: stored, or built from the stored ones. */
async function readTraded(engine: Pick<Engine, 'readCandles'>, request: CandleReadRequest): Promise<ReadCandle[]> {
  const {timeframe: tf, symbol, exchange} = request
  const source = sourceOf(tf)
  if (tf.kind === 'stored') return engine.readCandles({symbol, exchange, timeframe: source, fromMicros: request.fromMicros, toMicros: request.toMicros, limit: request.limit})

  const fromMicros = request.fromMicros === undefined ? undefined : windowOf(tf, request.fromMicros).start
  const toMicros = request.toMicros === undefined ? undefined : windowOf(tf, request.toMicros - 1).end
  const limit = Math.min(MAX_SOURCE_ROWS, request.limit * sourcesPerWindow(tf) * (exchange ? 1 : 4))
  const children = await engine.readCandles({symbol, exchange, timeframe: source, fromMicros, toMicros, limit})
  let candles = resample(children, tf)
  // The read stopped at its limit: the oldest windows may lack their first children, so they go.
  if (children.length === limit && candles.length > 0) candles = candles.filter((c) => c.window_start !== candles[0].window_start)
  return candles.slice(-request.limit)
}
