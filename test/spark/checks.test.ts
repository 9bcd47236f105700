import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it, vi} from 'vitest'

import type {SparkEngine} from '../../src/pipeline/engine/spark/spark-engine.js'
import type {Timeframe} from '../../src/pipeline/timeframes.js'

import {openEngine} from '../../src/pipeline/engine/index.js'
import {stopDriver} from '../../src/pipeline/engine/spark/session.js'
import {sqlString} from '../../src/pipeline/engine/spark/sql-text.js'
import {resolveHome} from '../../src/pipeline/home.js'
import {TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {checksSuite, CHECKS_DEMO, CHECKS_NOW} from '../engine/checks.suite.js'
import {k2ops} from '../helpers/cli.js'
import {SPARK_START_TIMEOUT_MS, describeSpark} from '../helpers/spark.js'

// The shared checks suite on a Spark demo home (one driver for the file). Homes are not copied
// (Iceberg metadata holds absolute paths): a fault is undone by rolling its table back to the
// snapshot before it.
describeSpark('Spark engine', () => {
  vi.setConfig({testTimeout: 900_000, hookTimeout: 900_000})
  const dir = mkdtempSync(join(tmpdir(), 'k2ops-checks-spark-'))
  const homeDir = join(dir, 'demo')
  const home = () => resolveHome({home: homeDir, defaultDir: homeDir, engine: 'spark'})
  let engine: SparkEngine

  beforeAll(async () => {
    const demo = await k2ops(['demo', '--home', homeDir, ...CHECKS_DEMO, '--json'], {K2OPS_NOW: CHECKS_NOW, K2OPS_ENGINE: 'spark'}, {timeoutMs: 900_000})
    expect(demo.exitCode, demo.stderr).toBe(0)
    // The demo home stays a Spark home for the commands it suggests (they name only --home).
    expect(demo.json.warehouse).toBe(`${home().spark.catalog.name}.${home().spark.namespace}`)
    expect(JSON.parse(readFileSync(join(homeDir, 'config.json'), 'utf8'))).toEqual({engine: 'spark'})
    engine = (await openEngine(home(), {operation: 'test faults', lockTimeoutMs: 60_000, readOnly: true})) as SparkEngine
  }, SPARK_START_TIMEOUT_MS + 900_000)
  afterAll(async () => {
    await engine?.close()
    await stopDriver(home()).catch(() => {})
    rmSync(dir, {recursive: true, force: true})
  })

  /** Runs a statement on a candle table and returns the undo: the table rolled back to its snapshot before. */
  async function fault(tf: Timeframe, statement: (table: string) => string): Promise<() => Promise<void>> {
    const table = engine.tables.candles(tf)
    const [history] = await engine.session.sql([`SELECT CAST(snapshot_id AS STRING) FROM ${table}.history WHERE is_current_ancestor ORDER BY made_current_at DESC LIMIT 1`])
    const before = String(history.rows[0][0])
    await engine.session.sql([statement(table)])
    const name = `${home().spark.namespace}.${TIMEFRAME_SPECS[tf].table.split('.')[1]}`
    return async () => void (await engine.session.sql([`CALL ${home().spark.catalog.name}.system.rollback_to_snapshot(${sqlString(name)}, ${before})`]))
  }

  checksSuite({
    name: 'Spark',
    home: () => homeDir,
    changeCandle: (tf, key, set) =>
      fault(
        tf,
        (table) => `UPDATE ${table} SET ${Object.entries(set).map(([column, value]) => `${column} = ${value}`).join(', ')}
          WHERE symbol = ${sqlString(key.symbol)} AND exchange = ${sqlString(key.exchange)} AND window_start = TIMESTAMP ${sqlString(key.windowStart)}`,
      ),
    deleteCandles: (tf, fromIso, market) =>
      fault(
        tf,
        (table) => `DELETE FROM ${table} WHERE window_start >= TIMESTAMP ${sqlString(fromIso)}${market ? ` AND symbol = ${sqlString(market.symbol)} AND exchange = ${sqlString(market.exchange)}` : ''}`,
      ),
  })

  // The statement log (K2OPS_SPARK_SQL_LOG) shows each request the command sent to the driver.
  it.each([
    [['validate', '--timeframe', 'all']],
    [['health', 'daily']],
  ])('%s sends every query of its checks in one request, beside the look for the tables', async (args) => {
    const log = join(dir, `${args.join('-')}.sql`)
    const result = await k2ops([...args, '--home', homeDir, '--json'], {K2OPS_NOW: CHECKS_NOW, K2OPS_SPARK_SQL_LOG: log}, {timeoutMs: 900_000})
    expect(result.stderr).not.toMatch(/Error/)
    const requests = readFileSync(log, 'utf8').split(/^-- k2ops /m).slice(1)
    const queries = requests.filter((request) => !/^SHOW TABLES /m.test(request))
    expect(queries).toHaveLength(1)
    expect(queries[0]).toMatch(/statement\(s\), ok/)
  })
})
