import type {
  CheckQueries,
  CountMismatchFigures,
  CountMismatchOptions,
  DoomedTradesFigures,
  DoomedTradesRequest,
  DuplicateKeyFigures,
  FreshnessFigures,
  MarketVolumeFigures,
  MissingWindowFigures,
  RollupFigures,
  RollupRequest,
  RowInvariantFigures,
  SilenceFigures,
  SilenceRequest,
  SourceTradeFigures,
  SourceTradeRequest,
  TimeframeSince,
  TimeframeSpan,
} from '../../check-queries.js'
import type {Timeframe} from '../../../timeframes.js'
import type {Warehouse} from '../warehouse.js'

import {TRADES_TABLE} from '../../../schema.js'
import {floorToWindow} from '../../../timeframes.js'
import {freshnessFigures} from './freshness-sql.js'
import {duplicateKeyFigures, rowInvariantFigures} from './invariant-sql.js'
import {doomedTradeFigures} from './retention-sql.js'
import {rollupFigures} from './rollup-sql.js'
import {marketVolumeFigures, sourceTradeFigures} from './source-trade-sql.js'
import {TradeMinutes} from './trade-minutes.js'
import {countMismatchFigures, missingWindowFigures, silenceFigures} from './window-sql.js'

/**
 * The checks' queries on an open DuckDB warehouse; the trades per minute are aggregated once per
 * instance. Questions asked at once (a check asks for all of its figures together) run one after
 * another: they share the connection and its temporary tables.
 */
export class DuckdbCheckQueries implements CheckQueries {
  private readonly minutes: TradeMinutes
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly warehouse: Warehouse) {
    this.minutes = new TradeMinutes(warehouse)
  }

  freshness(timeframes: Timeframe[]): Promise<FreshnessFigures> {
    return this.serial(() => freshnessFigures(this.warehouse, timeframes))
  }

  rowInvariants(spans: TimeframeSince[], limit: number): Promise<RowInvariantFigures[]> {
    return this.serial(() => rowInvariantFigures(this.warehouse, spans, limit))
  }

  duplicateKeys(spans: TimeframeSince[], limit: number): Promise<DuplicateKeyFigures[]> {
    return this.serial(() => duplicateKeyFigures(this.warehouse, spans, limit))
  }

  rollupMismatches(requests: RollupRequest[], limit: number): Promise<RollupFigures[]> {
    return this.serial(() => rollupFigures(this.warehouse, requests, limit))
  }

  missingWindows(spans: TimeframeSpan[], limit: number): Promise<MissingWindowFigures[]> {
    return this.serial(() => missingWindowFigures(this.warehouse, this.minutes, spans, limit))
  }

  tradeSilences(request: SilenceRequest): Promise<SilenceFigures> {
    return this.serial(() => silenceFigures(this.warehouse, this.minutes, request))
  }

  oldestTrade(): Promise<number | null> {
    return this.serial(() => this.oldest())
  }

  countMismatches(spans: TimeframeSpan[], limit: number, options: CountMismatchOptions = {}): Promise<CountMismatchFigures[]> {
    return this.serial(async () => {
      const oldest = options.sinceOldestTrade ? await this.oldest() : null
      const clamped = spans.map((span) => {
        if (oldest === null) return span
        const from = Math.max(span.fromMicros, floorToWindow(oldest, span.timeframe))
        return {...span, fromMicros: from, toMicros: Math.max(from, span.toMicros)}
      })
      return countMismatchFigures(this.warehouse, this.minutes, clamped, limit)
    })
  }

  doomedTrades(request: DoomedTradesRequest): Promise<DoomedTradesFigures> {
    return this.serial(() => doomedTradeFigures(this.warehouse, this.minutes, request))
  }

  sourceTrades(request: SourceTradeRequest): Promise<SourceTradeFigures> {
    return this.serial(() => sourceTradeFigures(this.warehouse, request))
  }

  marketVolumes(request: {dayFromMicros: number; hourFromMicros: number; throughMicros: number; limit: number}): Promise<MarketVolumeFigures> {
    return this.serial(() => marketVolumeFigures(this.warehouse, request))
  }

  private async oldest(): Promise<number | null> {
    const row = await this.warehouse.one<{oldest: bigint | null}>(`SELECT min("timestamp") AS oldest FROM ${TRADES_TABLE}`)
    return row.oldest === null ? null : Number(row.oldest)
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work)
    this.queue = run.catch(() => {})
    return run
  }
}
