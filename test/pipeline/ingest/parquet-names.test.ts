import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import {useIngestWarehouse} from '../../helpers/ingest-warehouse.js'

const NOW = Date.UTC(2025, 0, 2) * 1000
const setup = useIngestWarehouse(NOW)

/** One k2 row whose trade id names the file it was written to. */
const row = (id: string) =>
  `SELECT '${id.replaceAll("'", "''")}' AS trade_id, 'BTCUSDT' AS symbol, 'BINANCE' AS exchange, 1723161255342000 AS "timestamp", 1.5::DECIMAL(18,8) AS price, 2::DECIMAL(38,8) AS quantity`

describe('ingest: a Parquet file name is a file name, not a glob', () => {
  // Each name beside files its glob reading would match instead of (or as well as) it.
  const names = ['b[12].parquet', 'b1.parquet', 'a*.parquet', 'ab.parquet', 'q?.parquet', 'qx.parquet', 'c{1,2}.parquet', 'c1.parquet', `it's "x".parquet`, 'x]y.parquet', 'e\\f.parquet', '**.parquet']

  it.each([
    ['', 'plain directory'],
    ['d[1]*', 'directory whose name has glob characters'],
  ])('reads exactly the named file (%s: %s)', async (sub) => {
    const {dir, warehouse, options} = await setup()
    const tapes = join(dir, sub)
    mkdirSync(tapes, {recursive: true})
    for (const name of names) await warehouse.run(`COPY (${row(name)}) TO '${join(tapes, name).replaceAll("'", "''")}' (FORMAT parquet)`)
    for (const name of names) {
      const result = await ingestFile(warehouse, join(tapes, name), {...options, format: 'k2'})
      expect(result, name).toMatchObject({rowsRead: 1, inserted: 1})
    }

    const ids = await warehouse.json<{trade_id: string}>('SELECT trade_id FROM market_data.gold_crypto_trades ORDER BY ingestion_timestamp')
    expect(ids.map((r) => r.trade_id)).toEqual(names)
  })
})
