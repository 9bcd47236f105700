import {describe, expect, it} from 'vitest'

import {freshnessChecks} from '../../src/checks/freshness.js'
import {DEFAULT_THRESHOLDS} from '../../src/checks/thresholds.js'
import {DuckdbCheckQueries} from '../../src/pipeline/engine/duckdb/check-queries/duckdb-check-queries.js'
import {useTempDir} from '../helpers/temp-home.js'
import {insertTrades, micros, openTestWarehouse} from '../helpers/warehouse.js'

describe('source lag per exchange', () => {
  const tempDir = useTempDir()

  it('finds the newest trade of an exchange that went silent days before the others', async () => {
    const warehouse = await openTestWarehouse(tempDir())
    try {
      await insertTrades(warehouse, [
        {id: '1', exchange: 'KRAKEN', symbol: 'BTCUSD', at: '2024-08-05T09:00:00Z', price: '60000', qty: '1'},
        {id: '2', exchange: 'KRAKEN', symbol: 'BTCUSD', at: '2024-08-06T10:15:00Z', price: '60000', qty: '1'},
        {id: '3', exchange: 'BINANCE', at: '2024-08-09T11:58:00Z', price: '60000', qty: '1'},
        {id: '4', exchange: 'BINANCE', at: '2024-08-10T11:59:00Z', price: '60000', qty: '1'},
      ])
      const [source] = await freshnessChecks(new DuckdbCheckQueries(warehouse), {timeframes: ['1m'], thresholds: DEFAULT_THRESHOLDS, nowMicros: micros('2024-08-10T12:00:00Z'), limit: 10})
      expect(source).toMatchObject({name: 'source_lag', status: 'fail', value: (micros('2024-08-10T12:00:00Z') - micros('2024-08-06T10:15:00Z')) / 1e6})
      expect(source.evidence).toEqual([
        {exchange: 'BINANCE', newest_trade: '2024-08-10T11:59:00Z', lag_seconds: 60, status: 'pass'},
        {exchange: 'KRAKEN', newest_trade: '2024-08-06T10:15:00Z', lag_seconds: 351_900, status: 'fail'},
      ])
      expect(source.summary).toBe('no trades from KRAKEN for 4 d 1 h (since 2024-08-06T10:15:00Z): the feed is behind, not the pipeline')
    } finally {
      warehouse.close()
    }
  })
})
