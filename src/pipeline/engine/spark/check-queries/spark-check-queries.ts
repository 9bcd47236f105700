import type * as q from '../../check-queries.js'
import type {SparkResult, SparkSql} from '../spark-engine.js'
import type {Timeframe} from '../../../timeframes.js'

import {doomedTrades} from './doomed-trades.js'
import {SparkTables} from '../tables.js'
import {duplicateKeysSql, readDuplicateKeys, readRowInvariants, rowInvariantsSql} from './invariant-queries.js'
import {readStorageBytes, storageBytesSql} from '../retention-snapshots.js'
import {RequestBatch} from './request-batch.js'
import {readRollup, rollupSql} from './rollup-query.js'
import {numOrNull} from './spark-check-sql.js'
import {freshnessSql, marketVolumesSql, readFreshness, readMarketVolumes, readSourceTrades, sourceTradesSql} from './trade-queries.js'
import {countMismatchesSql, missingWindowsSql, readCountMismatches, readMissingWindows, readSilences, silencesSql} from './window-queries.js'

/**
 * The checks' queries in Spark SQL on the Iceberg tables. Each question is a fixed set of
 * statements (no question waits for the answer of another), and the questions asked in the same
 * turn of the event loop go to the driver as one request: a check command that asks for all of its
 * figures at once pays for one request.
 */
export class SparkCheckQueries implements q.CheckQueries {
  private readonly batch: RequestBatch

  constructor(
    private readonly session: SparkSql,
    private readonly tables: SparkTables,
  ) {
    this.batch = new RequestBatch(session)
  }

  freshness(timeframes: Timeframe[]): Promise<q.FreshnessFigures> {
    return this.batch.ask(freshnessSql(this.tables, timeframes), (results) => readFreshness(timeframes, results))
  }

  rowInvariants(spans: q.TimeframeSince[], limit: number): Promise<q.RowInvariantFigures[]> {
    if (spans.length === 0) return Promise.resolve([])
    return this.batch.ask([rowInvariantsSql(this.tables, spans, limit)], ([result]) => readRowInvariants(spans, limit, result))
  }

  duplicateKeys(spans: q.TimeframeSince[], limit: number): Promise<q.DuplicateKeyFigures[]> {
    if (spans.length === 0) return Promise.resolve([])
    return this.batch.ask([duplicateKeysSql(this.tables, spans, limit)], ([result]) => readDuplicateKeys(spans, result))
  }

  rollupMismatches(requests: q.RollupRequest[], limit: number): Promise<q.RollupFigures[]> {
    return this.perItem(requests, (request) => rollupSql(this.tables, request, limit), readRollup)
  }

  missingWindows(spans: q.TimeframeSpan[], limit: number): Promise<q.MissingWindowFigures[]> {
    return this.perItem(spans, (span) => missingWindowsSql(this.tables, span, limit), readMissingWindows)
  }

  tradeSilences(request: q.SilenceRequest): Promise<q.SilenceFigures> {
    return this.batch.ask([silencesSql(this.tables, request)], ([result]) => readSilences(result))
  }

  oldestTrade(): Promise<number | null> {
    return this.batch.ask([`SELECT min(\`timestamp\`) FROM ${this.tables.trades}`], ([result]) => numOrNull(result.rows[0]?.[0]))
  }

  countMismatches(spans: q.TimeframeSpan[], limit: number, options: q.CountMismatchOptions = {}): Promise<q.CountMismatchFigures[]> {
    return this.perItem(spans, (span) => countMismatchesSql(this.tables, span, limit, Boolean(options.sinceOldestTrade)), readCountMismatches)
  }

  /** Retention's trades check (its own requests: retention plans before it asks). */
  doomedTrades(request: q.DoomedTradesRequest): Promise<q.DoomedTradesFigures> {
    return doomedTrades(this.session, this.tables, request)
  }

  sourceTrades(request: q.SourceTradeRequest): Promise<q.SourceTradeFigures> {
    return this.batch.ask(sourceTradesSql(this.tables, request), readSourceTrades)
  }

  marketVolumes(request: {dayFromMicros: number; hourFromMicros: number; throughMicros: number; limit: number}): Promise<q.MarketVolumeFigures> {
    return this.batch.ask([marketVolumesSql(this.tables, request)], ([result]) => readMarketVolumes(result))
  }

  /** engine.ts storageBytes, in the same request as the checks asked with it (health daily's warehouse_size). */
  storageBytes(): Promise<number> {
    return this.batch.ask(storageBytesSql(this.tables), readStorageBytes)
  }

  /** One statement per item, read in the items' order. */
  private perItem<Item, Figures>(items: Item[], sql: (item: Item) => string, read: (item: Item, result: SparkResult) => Figures): Promise<Figures[]> {
    if (items.length === 0) return Promise.resolve([])
    return this.batch.ask(
      items.map((item) => sql(item)),
      (results) => items.map((item, index) => read(item, results[index])),
    )
  }
}
