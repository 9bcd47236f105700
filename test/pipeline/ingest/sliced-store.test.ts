import {existsSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'

import {K2Error} from '../../../src/pipeline/errors.js'
import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import type {IngestOptions} from '../../../src/pipeline/ingest/ingest-types.js'
import {GrowingTimeHistogram, timeSlices} from '../../../src/pipeline/ingest/time-slices.js'
import {Warehouse} from '../../../src/pipeline/engine/duckdb/warehouse.js'
import {useIngestWarehouse} from '../../helpers/ingest-warehouse.js'

// Large tapes are stored slice by slice (store-trades.ts); these tapes are small, and a tiny
// sliceRows makes them many slices. Whatever the slicing, the result must be what one statement
// over the whole file stores: same rows, same order, first occurrences, one ingestion_timestamp.

const NOW = Date.UTC(2025, 0, 2) * 1000
const setup = useIngestWarehouse(NOW)
const T0 = 1_723_161_255_342_000

async function storedRows(warehouse: Warehouse): Promise<unknown[]> {
  return warehouse.json(`SELECT rowid, * FROM market_data.gold_crypto_trades ORDER BY rowid`)
}

/** The file ingested in one slice and in slices of `sliceRows`: both stores are identical; returns the sliced run's SQL. */
async function expectSlicingChangesNothing(file: (dir: string, warehouse: Warehouse) => Promise<string>, options: Partial<IngestOptions>, sliceRows: number) {
  const whole = await setup()
  const sliced = await setup()
  const wholeFile = await file(whole.dir, whole.warehouse)
  const slicedFile = await file(sliced.dir, sliced.warehouse)
  const statements: string[] = []
  const run = sliced.warehouse.connection.run.bind(sliced.warehouse.connection)
  vi.spyOn(sliced.warehouse.connection, 'run').mockImplementation(async (sql, values) => {
    statements.push(sql)
    return run(sql, values)
  })
  for (const again of [false, true]) {
    const a = await ingestFile(whole.warehouse, wholeFile, {...whole.options, ...options, sliceRows: 10_000_000})
    const b = await ingestFile(sliced.warehouse, slicedFile, {...sliced.options, ...options, sliceRows})
    expect({...b, file: ''}).toEqual({...a, file: ''})
    if (again) expect(b.inserted).toBe(0)
  }

  const rows = await storedRows(sliced.warehouse)
  expect(rows).toEqual(await storedRows(whole.warehouse))
  const order = await sliced.warehouse.one<{backwards: bigint; stamps: bigint}>(`SELECT
      count(*) FILTER (WHERE d < 0) AS backwards, (SELECT count(DISTINCT ingestion_timestamp) FROM market_data.gold_crypto_trades) AS stamps
    FROM (SELECT "timestamp" - lag("timestamp") OVER (ORDER BY rowid) AS d FROM market_data.gold_crypto_trades)`)
  expect(order).toEqual({backwards: 0n, stamps: 1n})
  // Slice files (if any) are gone.
  const temp = `${sliced.warehouse.path}.tmp`
  expect(existsSync(temp) ? readdirSync(temp).filter((f) => f.startsWith('k2ops-ingest-')) : []).toEqual([])
  return {rows: rows.length, inserts: statements.filter((s) => s.includes('INSERT INTO')).length, cut: statements.some((s) => s.includes('PARTITION_BY'))}
}

/** 3 markets in runs (as the benchmark's tapes), every 50th trade repeated at the end (another side: the first row is stored). */
const K2_ROWS = `SELECT CAST(i AS VARCHAR) AS trade_id, ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'][i % 3 + 1] AS symbol, 'BINANCE' AS exchange,
    ${T0} + (i // 3) * 1000 AS "timestamp", CAST(100 + i % 50 AS DECIMAL(18,8)) AS price, CAST(1 AS DECIMAL(38,8)) AS quantity,
    'BUY' AS side, i AS source_sequence, i AS o
  FROM range(12000) r(i)
  UNION ALL SELECT CAST(i AS VARCHAR), ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'][i % 3 + 1], 'BINANCE', ${T0} + (i // 3) * 1000, 100 + i % 50, 1, 'SELL', i, 6000 + i
  FROM range(0, 12000, 50) r(i)`

describe('ingest: slices of a large tape', () => {
  it('k2 Parquet in market runs: range reads per slice, same store as one statement', async () => {
    const result = await expectSlicingChangesNothing(
      async (dir, warehouse) => {
        const path = join(dir, 'runs.parquet')
        await warehouse.run(`COPY (SELECT * EXCLUDE (o) FROM (${K2_ROWS}) ORDER BY symbol, o) TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`)
        return path
      },
      {format: 'k2'},
      2500,
    )
    // Five slices per file, and the ingest log's row for the run that stored them.
    expect(result).toEqual({rows: 12_000, inserts: 2 * 5 + 1, cut: false})
  })

  it('k2 Parquet in no time order: cut into slice files first, same store', async () => {
    const result = await expectSlicingChangesNothing(
      async (dir, warehouse) => {
        const path = join(dir, 'shuffled.parquet')
        await warehouse.run(`COPY (SELECT * EXCLUDE (o) FROM (${K2_ROWS}) ORDER BY hash(o)) TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`)
        return path
      },
      {format: 'k2'},
      1000,
    )
    expect(result).toMatchObject({rows: 12_000, cut: true})
  })

  it('Binance CSV in time order and shuffled with repeated ids', async () => {
    const line = (i: number, maker = 'True') => `${1000 + i},61837.63000000,0.02000000,1236.75260000,${1_723_161_255_342 + i * 997},${maker},True`
    const lines = Array.from({length: 3000}, (_, i) => line(i))
    const inOrder = await expectSlicingChangesNothing(async (dir) => write(dir, 'BTCUSDT-trades-2024-08-08.csv', lines), {}, 700)
    expect(inOrder).toEqual({rows: 3000, inserts: 2 * 5 + 1, cut: false})

    const shuffled = [...lines, ...lines.filter((_, i) => i % 40 === 0).map((_, i) => line(i * 40, 'False'))].sort((a, b) => hash(a) - hash(b))
    const result = await expectSlicingChangesNothing(async (dir) => write(dir, 'BTCUSDT-trades-2024-08-08.csv', shuffled), {}, 700)
    expect(result).toMatchObject({rows: 3000, cut: true})
  })

  it('Kraken rows identical within a second keep the ids they get in one statement', async () => {
    const lines = Array.from({length: 2000}, (_, i) => `${1_672_531_436 + Math.floor(i / 7)}.${String(i % 3).padStart(4, '0')},90.5,${(i % 5) + 1}`)
    const result = await expectSlicingChangesNothing(async (dir) => write(dir, 'kraken.csv', lines), {symbol: 'BCHEUR'}, 400)
    expect(result).toMatchObject({rows: 2000, cut: false})
    expect(result.inserts).toBeGreaterThanOrEqual(2 * 5)
  })

  it('a failing slice stores nothing from the file', async () => {
    const {dir, warehouse, options} = await setup()
    const file = write(dir, 'BTCUSDT-trades-2024-08-08.csv', Array.from({length: 3000}, (_, i) => `${i + 1},1.5,2,3,${1_723_161_255_342 + i},True,True`))
    const run = warehouse.connection.run.bind(warehouse.connection)
    let inserts = 0
    const spy = vi.spyOn(warehouse.connection, 'run').mockImplementation(async (sql, values) => {
      if (sql.includes('INSERT INTO') && ++inserts === 3) throw new Error('IO Error: disk gone')
      return run(sql, values)
    })
    await expect(ingestFile(warehouse, file, {...options, sliceRows: 500})).rejects.toThrow('disk gone')
    spy.mockRestore()
    expect(await storedRows(warehouse)).toEqual([])
    expect(await ingestFile(warehouse, file, {...options, sliceRows: 500})).toMatchObject({inserted: 3000})
  })

  it("DuckDB's out-of-memory error becomes one line naming the file and K2OPS_MEMORY_LIMIT", async () => {
    const {dir, warehouse, options} = await setup()
    const file = write(dir, 'BTCUSDT-trades-2024-08-08.csv', [`1,1.5,2,3,1723161255342,True,True`])
    const run = warehouse.connection.run.bind(warehouse.connection)
    vi.spyOn(warehouse.connection, 'run').mockImplementation(async (sql, values) => {
      if (sql.includes('INSERT INTO')) throw new Error('Out of Memory Error: failed to pin block of size 256.0 KiB (953.4 MiB/953.6 MiB used)\n\nPossible solutions: …')
      return run(sql, values)
    })
    const error = (await ingestFile(warehouse, file, options).catch((e: unknown) => e)) as K2Error
    expect(error).toBeInstanceOf(K2Error)
    expect(error).toMatchObject({code: 'out_of_memory', exit: 1})
    expect(error.message).toMatch(new RegExp(`^${file.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}: out of memory \\(DuckDB memory limit .+\\); nothing from this file was stored.*K2OPS_MEMORY_LIMIT`))
    expect(error.message).not.toContain('\n')
  })
})

describe('time slices', () => {
  it('group buckets up to sliceRows, never split a bucket, cover every row in time order', () => {
    const histogram = new GrowingTimeHistogram()
    const stamps = [...Array.from({length: 1000}, (_, i) => T0 + i * 10_000_000), ...Array.from({length: 300}, () => T0 + 5_000_000_000)]
    for (const t of [...stamps].reverse()) histogram.add(t)
    const slices = timeSlices(histogram.result(), T0, T0 + 999 * 10_000_000, 100)
    expect(slices.reduce((sum, s) => sum + s.rows, 0)).toBe(1300)
    for (const [i, s] of slices.entries()) {
      expect(s.lo).toBeLessThanOrEqual(s.hi)
      if (i > 0) expect(s.lo).toBeGreaterThan(slices[i - 1].hi)
      const inside = stamps.filter((t) => t >= s.lo && t <= s.hi).length
      expect(inside).toBe(s.rows)
      if (s.rows > 100) expect(s.lo <= T0 + 5_000_000_000 && T0 + 5_000_000_000 <= s.hi).toBe(true)
    }
  })
})

function write(dir: string, name: string, lines: string[]): string {
  const path = join(dir, name)
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

function hash(text: string): number {
  let h = 2_166_136_261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16_777_619)
  return h >>> 0
}
