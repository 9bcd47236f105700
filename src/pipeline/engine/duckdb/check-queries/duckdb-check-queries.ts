import type {
  CheckQueries,
  CountMismatchFigures,
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
import {freshnessFigures} from './freshness-sql.js'
import {duplicateKeyFigures, rowInvariantFigures} from './invariant-sql.js'
import {doomedTradeFigures} from './retention-sql.js'
import {rollupFigures} from './rollup-sql.js'
import {marketVolumeFigures, sourceTradeFigures} from './source-trade-sql.js'
import {TradeMinutes} from './trade-minutes.js'
import {countMismatchFigures, missingWindowFigures, silenceFigures} from './window-sql.js'

/** The checks' queries on an open DuckDB warehouse; the trades per minute are aggregated once per instance. */
export class DuckdbCheckQueries implements CheckQueries {
  private readonly minutes: TradeMinutes

  constructor(private readonly warehouse: Warehouse) {
    this.minutes = new TradeMinutes(warehouse)
  }

  freshness(timeframes: Timeframe[]): Promise<FreshnessFigures> {
    return freshnessFigures(this.warehouse, timeframes)
  }

  rowInvariants(spans: TimeframeSince[], limit: number): Promise<RowInvariantFigures[]> {
    return rowInvariantFigures(this.warehouse, spans, limit)
  }

  duplicateKeys(spans: TimeframeSince[], limit: number): Promise<DuplicateKeyFigures[]> {
    return duplicateKeyFigures(this.warehouse, spans, limit)
  }

  rollupMismatches(requests: RollupRequest[], limit: number): Promise<RollupFigures[]> {
    return rollupFigures(this.warehouse, requests, limit)
  }

  missingWindows(spans: TimeframeSpan[], limit: number): Promise<MissingWindowFigures[]> {
    return missingWindowFigures(this.warehouse, this.minutes, spans, limit)
  }

  tradeSilences(request: SilenceRequest): Promise<SilenceFigures> {
    return silenceFigures(this.warehouse, this.minutes, request)
  }

  async oldestTrade(): Promise<number | null> {
    const row = await this.warehouse.one<{oldest: bigint | null}>(`SELECT min("timestamp") AS oldest FROM ${TRADES_TABLE}`)
    return row.oldest === null ? null : Number(row.oldest)
  }

  countMismatches(spans: TimeframeSpan[], limit: number): Promise<CountMismatchFigures[]> {
    return countMismatchFigures(this.warehouse, this.minutes, spans, limit)
  }

  doomedTrades(request: DoomedTradesRequest): Promise<DoomedTradesFigures> {
    return doomedTradeFigures(this.warehouse, this.minutes, request)
  }

  sourceTrades(request: SourceTradeRequest): Promise<SourceTradeFigures> {
    return sourceTradeFigures(this.warehouse, request)
  }

  marketVolumes(request: {dayFromMicros: number; hourFromMicros: number; throughMicros: number; limit: number}): Promise<MarketVolumeFigures> {
    return marketVolumeFigures(this.warehouse, request)
  }
}
