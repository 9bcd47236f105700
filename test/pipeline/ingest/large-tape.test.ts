import {createWriteStream} from 'node:fs'
import {once} from 'node:events'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import type {IngestProgress} from '../../../src/pipeline/ingest/ingest-types.js'
import {Warehouse} from '../../../src/pipeline/engine/duckdb/warehouse.js'
import {useTempDir} from '../../helpers/temp-home.js'

const NOW = Date.UTC(2025, 0, 2) * 1000
const tempDir = useTempDir('k2ops-ingest-')
const open: Warehouse[] = []
afterEach(() => {
  for (const w of open.splice(0)) w.close()
})

async function writeLines(path: string, count: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(path)
  let buffer = ''
  for (let i = 0; i < count; i++) {
    buffer += line(i) + '\n'
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await once(out, 'drain')
      buffer = ''
    }
  }

  out.end(buffer)
  await once(out, 'close')
}

describe('ingest: a tape spanning many reads and staging blocks', () => {
  it('keeps file order, first occurrences, exact sums and reports progress', async () => {
    const dir = tempDir()
    const warehouse = await Warehouse.open(join(dir, 'w.duckdb'), {operation: 'test', lockTimeoutMs: 1000, create: true})
    open.push(warehouse)
    const rows = 250_000
    const file = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
    let expectedQty = 0n
    // Row i: id 1000+i, one trade per ms; the last row repeats the first trade (another side: the first row is stored).
    await writeLines(file, rows + 1, (i) => {
      if (i === rows) return `1000,61837.00000000,0.00000001,0.5,1723161255342,True,True`
      const qty = (i % 997) + 1
      expectedQty += BigInt(qty)
      return `${1000 + i},61837.${String(i % 100).padStart(2, '0')}000000,0.${String(qty).padStart(8, '0')},1.0,${1_723_161_255_342 + i},${i % 2 ? 'True' : 'False'},True`
    })
    const progress: IngestProgress[] = []
    const result = await ingestFile(warehouse, file, {rejectsDir: dir, nowMicros: NOW, onProgress: (p) => progress.push(p)})
    expect(result).toMatchObject({rowsRead: rows + 1, inserted: rows, duplicates: 1})
    expect(progress.map((p) => p.rows)).toEqual([100_000, 200_000, rows + 1])
    expect(progress.at(-1)).toMatchObject({bytesRead: progress.at(-1)!.totalBytes})

    const check = await warehouse.one<Record<string, bigint | string>>(`SELECT
        count(*) AS n,
        CAST(sum(quantity) * 100000000 AS HUGEINT)::VARCHAR AS qty,
        count(*) FILTER (WHERE trade_id = '1000' AND side = 'BUY') AS first_kept,
        (SELECT count(*) FROM (SELECT "timestamp" - lag("timestamp") OVER (ORDER BY rowid) AS d FROM market_data.gold_crypto_trades) WHERE d <= 0) AS out_of_order
      FROM market_data.gold_crypto_trades`)
    expect(check).toEqual({n: BigInt(rows), qty: String(expectedQty), first_kept: 1n, out_of_order: 0n})
  })

  it('numbers identical Kraken rows in file order across staging blocks', async () => {
    const dir = tempDir()
    const warehouse = await Warehouse.open(join(dir, 'w.duckdb'), {operation: 'test', lockTimeoutMs: 1000, create: true})
    open.push(warehouse)
    const file = join(dir, 'kraken.csv')
    // 3,000 rows in one second: many 4 KB staging blocks share one timestamp.
    await writeLines(file, 3000, (i) => (i % 2 ? '1672531436,90.540000,1.10448420' : `1672531436,90.5${String(i).padStart(4, '0')},1`))
    expect(await ingestFile(warehouse, file, {rejectsDir: dir, nowMicros: NOW, symbol: 'BCHEUR'})).toMatchObject({inserted: 3000})
    const ids = await warehouse.json<{trade_id: string}>('SELECT trade_id FROM market_data.gold_crypto_trades ORDER BY trade_id')
    expect(ids[0].trade_id).toBe('1672531436000000:000000:90.50000:1')
    expect(ids[1].trade_id).toBe('1672531436000000:000001:90.540000:1.10448420')
    expect(ids[2999].trade_id).toBe('1672531436000000:002999:90.540000:1.10448420')
  })
})
