import type {CheckQueries} from '../../check-queries.js'
import type {SparkSql} from '../spark-engine.js'
import type {SparkTables} from '../tables.js'

import {notOnSpark} from '../../unsupported.js'
import {doomedTrades} from './doomed-trades.js'

/** The checks' queries on Spark so far: retention's trades check; every other one refuses (exit 2). */
export function retentionOnlyChecks(session: SparkSql, tables: SparkTables): CheckQueries {
  const refuse = async (): Promise<never> => {
    throw notOnSpark('checks')
  }

  return {
    freshness: refuse,
    rowInvariants: refuse,
    duplicateKeys: refuse,
    rollupMismatches: refuse,
    missingWindows: refuse,
    tradeSilences: refuse,
    oldestTrade: refuse,
    countMismatches: refuse,
    doomedTrades: (request) => doomedTrades(session, tables, request),
    sourceTrades: refuse,
    marketVolumes: refuse,
  }
}
