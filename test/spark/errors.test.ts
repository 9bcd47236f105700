import {mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it, vi} from 'vitest'

import {stopDriver} from '../../src/pipeline/engine/spark/session.js'
import {resolveHome} from '../../src/pipeline/home.js'
import {k2ops} from '../helpers/cli.js'
import {describeSpark} from '../helpers/spark.js'
import {SparkTestHome} from '../helpers/spark-engine.js'

// The Spark engine's failures as a user meets them: one line on stderr, a hint, the documented exit
// code, never a stack trace (that stays in the driver's log).

const NOW = '2024-08-09T00:00:00Z'
const escaped = (text: string) => text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')

function parquetFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return parquetFiles(path)
    return name.endsWith('.parquet') ? [path] : []
  })
}

function expectOneLine(stderr: string, message: RegExp, hint: RegExp): void {
  const lines = stderr.trim().split('\n')
  expect(lines, stderr).toHaveLength(2)
  expect(lines[0]).toMatch(message)
  expect(lines[1]).toMatch(hint)
}

describeSpark('Spark errors as a user sees them', () => {
  vi.setConfig({testTimeout: 600_000})
  const spark = new SparkTestHome()
  const cli = (args: string[], env: Record<string, string | undefined> = {}) => k2ops([...args, '--home', spark.dir, '--engine', 'spark'], {K2OPS_NOW: NOW, ...env}, {timeoutMs: 400_000})
  const fileWarehouse = mkdtempSync(join(tmpdir(), 'k2ops-file-warehouse-'))
  afterAll(async () => {
    await spark.stop()
    await stopDriver(resolveHome({home: fileWarehouse, defaultDir: fileWarehouse})).catch(() => {})
    rmSync(fileWarehouse, {recursive: true, force: true})
  })

  it('a home without Spark installed: exit 2, saying to run npm run spark:setup', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'k2ops-no-spark-'))
    const home = mkdtempSync(join(tmpdir(), 'k2ops-no-spark-home-'))
    try {
      for (const args of [['candles', 'BTCUSDT'], ['init']]) {
        const result = await k2ops([...args, '--home', home, '--engine', 'spark'], {K2OPS_SPARK_DIR: empty, SPARK_HOME: undefined})
        expect(result.exitCode, result.stderr).toBe(2)
        expectOneLine(result.stderr, /^k2ops: Spark is not installed: no spark\.sparkHome in config\.json and none in /, /^hint: Run `npm run spark:setup`/)
      }
    } finally {
      rmSync(empty, {recursive: true, force: true})
      rmSync(home, {recursive: true, force: true})
    }
  })

  it('candles on a fresh home: exit 2, saying to run init', async () => {
    const result = await cli(['candles', 'BTCUSDT'])
    expect(result.exitCode, result.stderr).toBe(2)
    expectOneLine(result.stderr, /^k2ops: no k2ops tables in iceberg\.market_data$/, /^hint: Run `k2ops init`/)
  })

  it('a Spark SQL failure: exit 1, one line `Spark: …`, the hint naming the driver log that has the stack', async () => {
    expect((await cli(['init'])).exitCode).toBe(0)
    const engine = await spark.open()
    try {
      await engine.session.sql([
        `INSERT INTO ${engine.tables.candles('1m')} VALUES ('BTCUSDT', 'BINANCE', TIMESTAMP '2024-08-08 23:55:00', TIMESTAMP '2024-08-08 23:56:00', DATE '2024-08-08',
          61000.1, 61000.2, 61000.0, 61000.1, 1.5, 3, 61000.1, TIMESTAMP '2024-08-09 00:00:00', TIMESTAMP '2024-08-09 00:00:00', NULL, NULL, NULL)`,
      ])
    } finally {
      await engine.close()
    }

    // The table's only data file is gone: reading the table fails inside a Spark job.
    const files = parquetFiles(join(spark.dir, 'iceberg', 'market_data', 'gold_ohlcv_1m', 'data'))
    expect(files).toHaveLength(1)
    rmSync(files[0])
    const log = join(spark.dir, 'logs', 'spark-driver.log')
    const logBefore = readFileSync(log, 'utf8').length
    const result = await cli(['candles', 'BTCUSDT', '--timeframe', '1m'])
    expect(result.exitCode, result.stderr).toBe(1)
    expectOneLine(result.stderr, /^k2ops: Spark: .*(FileNotFound|does not exist|not found)/i, new RegExp(`^hint: The Spark driver's log has the details: ${escaped(log)}$`))
    expect(readFileSync(log, 'utf8').slice(logBefore)).toMatch(/statement failed:[\s\S]*\n\s+at org\.apache\./)
    const json = await cli(['candles', 'BTCUSDT', '--timeframe', '1m', '--json'])
    expect(json.exitCode).toBe(1)
    expect(json.json.error).toMatchObject({code: 'spark_failed', exit: 1, message: expect.stringMatching(/^Spark: /), suggestions: [expect.stringContaining(log)]})
  })

  it("a catalog whose warehouse is a file: exit 1, one line that says why (the cause, not only Iceberg's wrapper)", async () => {
    const file = join(fileWarehouse, 'not-a-directory')
    writeFileSync(file, '')
    writeFileSync(join(fileWarehouse, 'config.json'), JSON.stringify({engine: 'spark', spark: {catalog: {warehouse: `file://${file}`}}}))
    const result = await k2ops(['init', '--home', fileWarehouse], {K2OPS_NOW: NOW}, {timeoutMs: 400_000})
    expect(result.exitCode, result.stderr).toBe(1)
    const log = join(fileWarehouse, 'logs', 'spark-driver.log')
    expectOneLine(result.stderr, new RegExp(`^k2ops: Spark: Create namespace failed: market_data \\(ParentNotDirectoryException: Parent path is not a directory: file:${escaped(file)}\\)$`), new RegExp(`^hint: The Spark driver's log has the details: ${escaped(log)}$`))
  })
})
