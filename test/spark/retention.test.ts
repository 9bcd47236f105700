import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it, vi} from 'vitest'

import type {SparkSql} from '../../src/pipeline/engine/spark/spark-engine.js'

import {DuckdbEngine, warehouseOf} from '../../src/pipeline/engine/duckdb/duckdb-engine.js'
import {SparkEngine} from '../../src/pipeline/engine/spark/spark-engine.js'
import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {retentionSuite} from '../engine/retention.suite.js'
import {k2ops} from '../helpers/cli.js'
import {insertCandle} from '../helpers/candle-rows.js'
import {CUTOFFS, NOW, auditRecords} from '../helpers/retention-fixture.js'
import {SPARK_START_TIMEOUT_MS, describeSpark} from '../helpers/spark.js'
import {SparkTestHome} from '../helpers/spark-engine.js'
import {insertSparkCandles, insertSparkRows, snapshotCount, sparkRowsPerDay} from '../helpers/spark-retention.js'
import {insertTrades} from '../helpers/warehouse.js'

// Retention on Spark + Iceberg: the suite the DuckDB engine passes (test/engine/duckdb-retention.test.ts),
// plus what only Iceberg has: deletes that rewrite files, snapshots to expire, a commit to roll back.
describeSpark('retention on the Spark engine', () => {
  vi.setConfig({testTimeout: 600_000})
  const spark = new SparkTestHome()
  beforeAll(async () => (await spark.openEmpty()).close(), SPARK_START_TIMEOUT_MS)
  afterAll(() => spark.stop())

  /** The file's one home, its tables emptied, without the audit trail and config of the test before. */
  async function emptyHome(): Promise<string> {
    await (await spark.openEmpty()).close()
    for (const file of ['state/audit.jsonl', 'config.json']) rmSync(join(spark.dir, file), {force: true})
    return spark.dir
  }

  const tableOf = (engine: SparkEngine, tf: (typeof TIMEFRAMES)[number]) => engine.tables.candles(tf)

  retentionSuite({
    name: 'Spark',
    kind: 'spark',
    newHome: emptyHome,
    env: {K2OPS_ENGINE: 'spark'},
    open: () => spark.open(),
    insertRows: insertSparkRows,
    rowsPerDay: sparkRowsPerDay,
    timeoutMs: 600_000,
    checkDryRun(json, human) {
      // The 1d table is partitioned by month: 2021-03-01 (deleted) and 2021-03-02 (kept) share a file.
      const rewrites = Object.fromEntries(json.json.plan.map((table: {target: string; rewritesFiles: boolean}) => [table.target, table.rewritesFiles]))
      expect(rewrites).toEqual({'1m': false, '5m': false, '30m': false, '1h': false, '1d': true})
      expect(json.json.plan.at(-1).filesToRewrite).toBeGreaterThan(0)
      expect(human.stdout).toContain('Metadata-only delete (whole data files dropped): market_data.gold_ohlcv_1m, market_data.gold_ohlcv_5m, market_data.gold_ohlcv_30m, market_data.gold_ohlcv_1h.')
      expect(human.stdout).toMatch(/^The delete rewrites files: market_data\.gold_ohlcv_1d: \d+ data files? holds? rows on both sides of 2021-03-02 \(the 1d table is partitioned by month/m)
      expect(human.stdout).toMatch(/~BYTES is an estimate from Iceberg metadata/)
    },
    async checkRealRun(home, real) {
      const {checkpoint} = real.json.result
      expect(checkpoint.expired).toEqual({tables: TIMEFRAMES.map((tf) => TIMEFRAME_SPECS[tf].table), snapshotsExpired: expect.any(Number), filesDeleted: expect.any(Number)})
      expect(checkpoint.expired.snapshotsExpired).toBeGreaterThan(0)
      expect(checkpoint.expired.filesDeleted).toBeGreaterThan(0)
      expect(checkpoint.fileBytesAfter).toBeLessThan(checkpoint.fileBytesBefore)
      expect(auditRecords(home).at(-1)?.details.checkpoint).toEqual(checkpoint)
      // Only the current snapshot is left: no older one still references the deleted files.
      const engine = await spark.open()
      try {
        for (const tf of TIMEFRAMES) expect(await snapshotCount(engine, tableOf(engine, tf)), tf).toBe(1)
      } finally {
        await engine.close()
      }
    },
  })

  it('says when the 1d delete rewrites a month, deletes it, and says what expiring the snapshots freed', async () => {
    const home = await emptyHome()
    const engine = await spark.open()
    try {
      await insertSparkCandles(engine, ['2021-02-27', '2021-03-01', '2021-03-02', '2021-03-20'].map((day) => ({tf: '1d' as const, symbol: 'BTCUSDT', start: `${day}T00:00:00Z`})))
    } finally {
      await engine.close()
    }

    const result = await k2ops(['retention', '--timeframe', '1d', '--yes', '--home', home], {K2OPS_NOW: NOW, K2OPS_ENGINE: 'spark'}, {timeoutMs: 600_000})
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^The delete rewrites files: market_data\.gold_ohlcv_1d: 1 data file holds rows on both sides of 2021-03-02/m)
    expect(result.stdout).toMatch(/^Deleted 2 rows; expired \d+ older snapshots? of 1 table \(they still referenced the deleted files\): \d+ files? removed, .+ freed/m)
    const after = await spark.open()
    try {
      expect(await sparkRowsPerDay(after)).toEqual({'1d 2021-03-02': 1, '1d 2021-03-20': 1})
      expect(await snapshotCount(after, after.tables.candles('1d'))).toBe(1)
    } finally {
      await after.close()
    }
  })

  it('a guard that fails after the DELETE rolls the commit back whole; with a commit on top, adds the rows back instead', async () => {
    await emptyHome()
    const engine = await spark.open()
    try {
      const table = engine.tables.candles('1m')
      const current = async () => (await engine.session.sql([`SELECT CAST(snapshot_id AS STRING) FROM ${table}.history WHERE is_current_ancestor ORDER BY made_current_at DESC LIMIT 1`]))[0].rows[0][0]
      await insertSparkCandles(engine, ['2025-11-29T10:00:00Z', '2025-11-30T23:59:00Z', '2025-12-01T00:00:00Z'].map((start) => ({tf: '1m' as const, symbol: 'BTCUSDT', start})))
      const before = await sparkRowsPerDay(engine)
      const snapshot = await current()
      const refuse = {found() {}, deleted(rows: number) {
        throw new Error(`deleted ${rows}`)
      }}
      await expect(engine.deleteExpired('1m', '2025-12-01', refuse)).rejects.toThrow('deleted 2')
      expect(await sparkRowsPerDay(engine)).toEqual(before)
      expect(await current()).toBe(snapshot)

      // Another writer commits right after the DELETE (an ingest beside retention): its row stays.
      const beside: SparkSql = {
        sql: async (statements) => {
          if (!statements[0].startsWith('DELETE FROM')) return engine.session.sql(statements)
          const insert = `INSERT INTO ${table} SELECT * FROM ${table} WHERE window_date = DATE '2025-12-01'`
          const results = await engine.session.sql([statements[0], insert, ...statements.slice(1)])
          return [results[0], ...results.slice(2)]
        },
      }
      const racing = new SparkEngine(beside, engine.tables.target)
      await expect(racing.deleteExpired('1m', '2025-12-01', refuse)).rejects.toThrow('deleted 2')
      expect(await sparkRowsPerDay(engine)).toEqual({...before, '1m 2025-12-01': 2})
    } finally {
      await engine.close()
    }
  })

  it("the trades check's figures (doomedTrades) are DuckDB's for the same rows: windows without or with disagreeing candles, and minutes no policy keeps", async () => {
    await emptyHome()
    const trades = [
      {id: 'o1', at: '2020-01-01T00:00:01Z', price: '7000', qty: '1'},
      {id: 'o2', at: '2020-01-01T00:00:02Z', price: '7001', qty: '2'},
      {id: 'k1', symbol: 'KR', exchange: 'KRAKEN', at: '2020-01-02T10:00:00Z', price: '5', qty: '3'},
      {id: 'a', at: '2026-01-28T09:52:30Z', price: '100', qty: '5'},
      {id: 'b', at: '2026-01-28T09:52:40.000001Z', price: '101', qty: '1.5'},
      {id: 'c', at: '2026-01-29T23:59:59Z', price: '102', qty: '1'},
      {id: 'd', at: '2026-01-30T00:00:00.5Z', price: '103', qty: '1'},
    ]
    const candle = {tf: '1m' as const, symbol: 'BTCUSDT', start: '2026-01-28T09:52:00Z'}
    const request = (limit: number) => ({cutoff: '2026-01-30', candlesKeptFrom: CUTOFFS, uncheckedBefore: CUTOFFS['1d'], limit})
    const dir = mkdtempSync(join(tmpdir(), 'k2ops-doomed-'))
    const duckdb = await DuckdbEngine.open(join(dir, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 10_000, create: true})
    const engine = await spark.open()
    try {
      await insertTrades(warehouseOf(duckdb), trades)
      await insertCandle(warehouseOf(duckdb), candle.tf, candle)
      await insertSparkRows(engine, {trades, candles: [candle]})
      for (const limit of [10, 1]) {
        const expected = await duckdb.checks.doomedTrades(request(limit))
        expect(expected.trades).toBe(6)
        expect(expected.unchecked).toMatchObject({minutes: 2, markets: 2})
        expect(expected.windows.find((w) => w.timeframe === '1m')).toMatchObject({total: 2, rows: [expect.objectContaining({candle_trades: 3, missing: false}), ...(limit > 1 ? [expect.objectContaining({missing: true})] : [])]})
        expect(await engine.checks.doomedTrades(request(limit)), `limit ${limit}`).toEqual(expected)
      }
    } finally {
      await engine.close()
      await duckdb.close()
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
