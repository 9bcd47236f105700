import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it, vi} from 'vitest'

import type {SparkEngine} from '../../src/pipeline/engine/spark/spark-engine.js'

import {runFlowWindows} from '../../src/pipeline/flow-run.js'
import {maintainedTables} from '../../src/pipeline/engine/spark/maintain-sql.js'
import {k2ops} from '../helpers/cli.js'
import {SPARK_START_TIMEOUT_MS, describeSpark} from '../helpers/spark.js'
import {SparkTestHome, insertSparkTrades} from '../helpers/spark-engine.js'
import {TestTrade, micros} from '../helpers/warehouse.js'

// `k2ops maintain` on Spark: the 1m flow run 50 times over a small table leaves 50-odd snapshots and
// small files in the candle and mark tables; maintenance compacts them, expires the snapshots the
// policy does not keep (and the files only they referenced), and changes no row of any table.
// One home and one warm driver for the file.

vi.setConfig({testTimeout: 900_000, hookTimeout: SPARK_START_TIMEOUT_MS + 600_000})

const spark = new SparkTestHome()
const FROM = micros('2024-08-08T10:00:00Z')
const MINUTE = 60_000_000
const RUNS = 50
const KEEP = 1
let engine: SparkEngine

/** Two trades a minute for an hour, all on one UTC day (one partition per table). */
function trades(): TestTrade[] {
  return Array.from({length: 120}, (_, i) => ({id: `t${i + 1}`, at: FROM + i * 30_000_000 + 1000, price: `${60_000 + (i % 7)}.5`, qty: `0.${(i % 9) + 1}`}))
}

/** Every row of every maintained table, as text, in a fixed order: what maintenance must not change. */
async function everyRow(): Promise<Record<string, string[]>> {
  const tables = maintainedTables(engine.tables)
  const results = await engine.session.sql(tables.map((table) => `SELECT to_json(struct(*)) AS row FROM ${table.name} ORDER BY 1`))
  return Object.fromEntries(tables.map((table, index) => [table.ident, results[index].rows.map((row) => String(row[0]))]))
}

async function snapshotIds(table: string): Promise<string[]> {
  const [result] = await engine.session.sql([`SELECT CAST(snapshot_id AS STRING) FROM ${table}.snapshots ORDER BY committed_at`])
  return result.rows.map((row) => String(row[0]))
}

const cli = (args: string[]) => k2ops([...args, '--home', spark.dir], {}, {timeoutMs: SPARK_START_TIMEOUT_MS + 300_000})

beforeAll(async () => {
  writeFileSync(join(spark.dir, 'config.json'), JSON.stringify({engine: 'spark', maintenance: {snapshotAge: '0s', keepSnapshots: KEEP}}))
  engine = await spark.openEmpty()
  await insertSparkTrades(engine, trades())
  // The 1m flow, a minute later each time, each run building the one window that closed: a small
  // file of new candles and a mark rewritten, each its own commit.
  for (let run = 1; run <= RUNS; run++) await runFlowWindows(engine, '1m', {nowMicros: FROM + run * MINUTE, lookbackMicros: MINUTE})
  // The CLI takes the target's lock: this engine gives it back, and reads without one from now on.
  await engine.close()
  engine = await spark.openExisting()
})

afterAll(async () => {
  await engine?.close()
  await spark.stop()
})

describeSpark('k2ops maintain on the Spark engine', () => {
  it('waits for a flow that holds the target, then exits 4 naming it', async () => {
    const holder = await spark.open()
    try {
      const busy = await cli(['maintain', '--lock-timeout', '0', '--json'])
      expect(busy.exitCode, busy.stdout + busy.stderr).toBe(4)
      expect(busy.json.error.message).toMatch(/^target iceberg\.market_data is busy: pid \d+ \(test, since .+\) holds it/)
    } finally {
      await holder.close()
    }
  })

  it('--dry-run lists each step of each table and changes nothing', async () => {
    const before = await snapshotIds(engine.tables.candles('1m'))
    const dry = await cli(['maintain', '--dry-run', '--json'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.json.tables.map((table: {table: string}) => table.table)).toEqual(maintainedTables(engine.tables).map((table) => table.ident))
    for (const table of dry.json.tables) {
      expect(table.steps.map((step: {step: string}) => step.step)).toEqual(['rewrite_data_files', 'rewrite_manifests', 'expire_snapshots', 'remove_orphan_files'])
      expect(table.after).toBeNull()
    }

    const oneMinute = dry.json.tables.find((table: {table: string}) => table.table === 'market_data.gold_ohlcv_1m')
    expect(oneMinute.before.snapshots).toBe(before.length)
    expect(oneMinute.before.snapshots).toBeGreaterThanOrEqual(RUNS)
    const [compact, , expire] = oneMinute.steps
    expect(oneMinute.before.dataFiles).toBeGreaterThanOrEqual(RUNS)
    expect(compact.counts).toEqual({smallFiles: oneMinute.before.dataFiles, partitions: 1})
    expect(expire.counts.snapshots).toBe(before.length - KEEP)
    expect(expire.summary).toMatch(new RegExp(`^would expire ${before.length - KEEP} of ${before.length} snapshots`))
    expect(await snapshotIds(engine.tables.candles('1m'))).toEqual(before)
  })

  it('compacts, expires what the policy does not keep, changes no row, and an expired snapshot no longer reads', async () => {
    const rows = await everyRow()
    const oldest = (await snapshotIds(engine.tables.candles('1m')))[0]
    const run = await cli(['maintain', '--json'])
    expect(run.exitCode, run.stderr + run.stdout).toBe(0)
    const byTable = Object.fromEntries(run.json.tables.map((table: {table: string}) => [table.table, table]))

    // The two tables the flow wrote 50 times: one data file for their one partition, the newest KEEP
    // snapshot, and no other file on disk (the 1m table's 50 small files compacted into one; the
    // marks' 50 rewritten copies of one file gone with the snapshots that held them).
    for (const name of ['market_data.gold_ohlcv_1m', 'k2ops_meta.flow_watermarks']) {
      const {before, after, steps} = byTable[name]
      expect(before.snapshots, name).toBeGreaterThanOrEqual(RUNS)
      expect(before.storedFiles, name).toBeGreaterThanOrEqual(RUNS)
      expect(after, name).toMatchObject({snapshots: KEEP, dataFiles: 1, storedFiles: 1})
      expect(steps[2].counts.deleted_data_files_count, name).toBeGreaterThanOrEqual(RUNS - 1)
    }

    const compacted = byTable['market_data.gold_ohlcv_1m'].steps[0].counts
    expect(compacted).toMatchObject({rewritten_data_files_count: byTable['market_data.gold_ohlcv_1m'].before.dataFiles, added_data_files_count: 1})

    for (const table of run.json.tables) expect(table.after.snapshots, table.table).toBeLessThanOrEqual(Math.max(KEEP, table.before.snapshots))
    expect(await everyRow()).toEqual(rows)

    // Iceberg's own answer for a snapshot that expire_snapshots removed.
    await expect(engine.session.sql([`SELECT count(*) FROM ${engine.tables.candles('1m')} VERSION AS OF ${oldest}`])).rejects.toThrow(/Cannot find snapshot with ID/)

    // The audit record, and the run in the history.
    const audit = readFileSync(join(spark.dir, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line))
    expect(audit.filter((record) => record.command === 'maintain' && record.id === run.json.auditId).map((record) => record.outcome)).toEqual(['started', 'completed'])
    const runs = await k2ops(['runs', '--home', spark.dir, '--json'])
    expect(runs.json.runs[0]).toMatchObject({flow: 'Table-Maintenance', deployment: 'maintain-scheduled', state: 'Completed', trigger: 'manual'})

    // The next run compacts only what was written since this one began: nothing yet.
    const next = await cli(['maintain', '--dry-run', '--json'])
    expect(next.exitCode, next.stderr).toBe(0)
    expect(next.json.policy.writtenSince).toEqual(expect.any(String))
    for (const table of next.json.tables) expect(table.steps[0].summary, table.table).toMatch(/^nothing to compact: no data file written since/)
  })
})
