import {execa} from 'execa'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, expect, it, vi} from 'vitest'

import type {DemoTapes} from '../../src/pipeline/engine/duckdb/demo.js'

import {writeDemoTapes} from '../../src/pipeline/engine/duckdb/demo.js'
import {readLockHolder} from '../../src/pipeline/engine/spark/lock-file.js'
import {dropViewsSql} from '../../src/pipeline/engine/spark/replace-sql.js'
import {targetLockFile} from '../../src/pipeline/engine/spark/target-lock.js'
import {BIN, k2ops} from '../helpers/cli.js'
import {duckdbCandles, everyCandle} from '../helpers/engine-candles.js'
import {SPARK_START_TIMEOUT_MS, describeSpark} from '../helpers/spark.js'
import {SparkTestHome} from '../helpers/spark-engine.js'
import {micros} from '../helpers/warehouse.js'

// A Spark backfill of four days whose whole process tree is killed (SIGKILL) in the middle of a
// MERGE, while an ingest runs beside it, then run again: the candles are those of one clean run
// (a DuckDB home with the same trades), and the Iceberg tables hold no file that no snapshot knows.

const NOW = '2024-08-12T00:00:00Z'
const BACKFILL = ['backfill', '--timeframe', '1m,1h', '--from', '2024-08-08', '--to', '2024-08-12']
/** The request that commits a replace: its MERGE, then the four statements that drop its views. */
// A replace's second request: its MERGE, then the drops of its views.
const MERGE_REQUEST = new RegExp(`request k2ops-\\d+-\\d+ started: ${1 + dropViewsSql().length} statement\\(s\\)`, 'g')

/** Data and delete files under a table's data/ folder, relative to the table's folder. */
function filesOnDisk(tableDir: string): string[] {
  const dir = join(tableDir, 'data')
  if (!existsSync(dir)) return []
  const found: string[] = []
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const child = join(path, name)
      if (statSync(child).isDirectory()) walk(child)
      else if (name.endsWith('.parquet')) found.push(relative(tableDir, child))
    }
  }

  walk(dir)
  return found.sort()
}

describeSpark('a Spark backfill killed midway', () => {
  vi.setConfig({testTimeout: 900_000})
  const spark = new SparkTestHome()
  const work = mkdtempSync(join(tmpdir(), 'k2ops-kill-'))
  const duckdb = join(work, 'duckdb')
  const sparkEnv = {K2OPS_NOW: NOW, K2OPS_ENGINE: 'spark', NO_COLOR: '1'}
  let tapes: DemoTapes

  beforeAll(async () => {
    tapes = await writeDemoTapes(join(work, 'tapes'), {trades: 6000, nowMicros: micros(NOW), seed: 7})
    const ingest = await k2ops(['ingest', tapes.main, '--home', spark.dir, '--json'], sparkEnv, {timeoutMs: 600_000})
    expect(ingest.exitCode, ingest.stderr).toBe(0)
    // The clean run: the same trades (the main tape and the late batch) on DuckDB, backfilled once.
    for (const file of [tapes.main, tapes.late]) expect((await k2ops(['ingest', file, '--home', duckdb], {K2OPS_NOW: NOW})).exitCode).toBe(0)
    expect((await k2ops([...BACKFILL, '--home', duckdb], {K2OPS_NOW: NOW})).exitCode).toBe(0)
  }, SPARK_START_TIMEOUT_MS + 300_000)

  afterAll(async () => {
    await spark.stop()
    rmSync(work, {recursive: true, force: true})
  })

  it('refuses a second writer (exit 4 naming the holder), lets an ingest run beside it, and a rerun gives the candles of one clean run', async () => {
    const log = join(spark.dir, 'logs', 'spark-driver.log')
    // Its own process group: the kill takes the command and anything it started.
    const holder = execa('node', [BIN, ...BACKFILL, '--home', spark.dir], {env: sparkEnv, reject: false, detached: true})
    let stderr = ''
    holder.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const lock = targetLockFile(spark.home)
    while (readLockHolder(lock)?.pid !== holder.pid) {
      expect(holder.exitCode, stderr).toBeNull()
      await sleep(100)
    }

    const busy = await k2ops(['trigger', '1m', '--home', spark.dir, '--lock-timeout', '1', '--json'], sparkEnv)
    expect(busy.exitCode, busy.stderr).toBe(4)
    expect(busy.json.error).toMatchObject({code: 'warehouse_busy', exit: 4})
    expect(busy.json.error.message).toMatch(new RegExp(`^target iceberg\\.market_data is busy: pid ${holder.pid} \\(backfill 1m,1h `))
    // An ingest beside the backfill: it takes no writer's lock, and its commits interleave with the backfill's.
    const late = k2ops(['ingest', tapes.late, '--home', spark.dir, '--json'], sparkEnv, {timeoutMs: 600_000})

    // Killed in the middle of a MERGE that starts after the first day is done.
    const afterIngest = readFileSync(log, 'utf8').length
    let killed = false
    while (!killed) {
      expect(holder.exitCode, `the backfill ended before it could be killed: ${stderr}`).toBeNull()
      const merges = [...readFileSync(log, 'utf8').slice(afterIngest).matchAll(MERGE_REQUEST)]
      if (/\b[1-3]\/4 days/.test(stderr) && merges.length > 0) {
        const after = readFileSync(log, 'utf8').slice(afterIngest + merges.at(-1)!.index)
        // The newest MERGE request, not followed by another yet: most likely still running.
        if (!/request k2ops-\d+-\d+ started/.test(after.slice(after.indexOf('\n')))) {
          process.kill(-holder.pid!, 'SIGKILL')
          killed = true
        }
      }

      await sleep(50)
    }

    expect((await holder).signal).toBe('SIGKILL')
    const ingested = await late
    expect(ingested.exitCode, ingested.stderr).toBe(0)
    expect(ingested.json.inserted).toBeGreaterThan(0)
    const rerun = await k2ops([...BACKFILL, '--home', spark.dir, '--json'], sparkEnv, {timeoutMs: 600_000})
    expect(rerun.exitCode, rerun.stderr).toBe(0)

    const engine = await spark.openExisting()
    try {
      expect(await everyCandle(engine)).toEqual(await duckdbCandles(duckdb))
      // No file was left behind by the cancelled MERGE: every data file is in some snapshot.
      for (const table of ['gold_crypto_trades', 'gold_ohlcv_1m', 'gold_ohlcv_1h']) {
        const [known] = await engine.session.sql([`SELECT DISTINCT file_path FROM iceberg.market_data.${table}.all_files`])
        const tableDir = join(spark.dir, 'iceberg', 'market_data', table)
        expect(filesOnDisk(tableDir), table).toEqual(known.rows.map(([path]) => relative(tableDir, new URL(String(path)).pathname)).sort())
      }

      const [views] = await engine.session.sql(['SHOW VIEWS'])
      expect(views.rows.map((row) => row[1])).toEqual([])
    } finally {
      await engine.close()
    }
  })
})
