import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it, vi} from 'vitest'

import type {SparkEngine} from '../../src/pipeline/engine/spark/spark-engine.js'

import {KLINE_FILL_COMMAND} from '../../src/pipeline/schema.js'
import {TIMEFRAMES} from '../../src/pipeline/timeframes.js'
import {k2ops} from '../helpers/cli.js'
import {duckdbCandles, everyCandle} from '../helpers/engine-candles.js'
import {hasRealData, realFile} from '../helpers/real-data.js'
import {SPARK_START_TIMEOUT_MS, describeSpark} from '../helpers/spark.js'
import {SparkTestHome} from '../helpers/spark-engine.js'

// A Spark home whose catalog already holds the original platform's tables (their columns, types,
// partitioning and table properties): init adopts them, widening volume and quantity by schema
// evolution, and the pipeline then works on them as on its own.

const NOW = '2030-01-01T00:00:00Z'
const NS = 'iceberg.market_data'
const TAPE = realFile('binance_usdm_BTCUSDT_2024-08-08', 'BTCUSDT-usdm-trades_2024-08-08T235416Z_2024-08-08T235959Z.csv')
const RANGE = ['--from', '2024-08-08T23:50:00Z', '--to', '2024-08-09T00:10:00Z']

const properties = (entries: Record<string, string>) =>
  `TBLPROPERTIES (${Object.entries(entries)
    .map(([key, value]) => `'${key}' = '${value}'`)
    .join(', ')})`

const SHARED_PROPERTIES = {
  'format-version': '2',
  'write.parquet.compression-codec': 'zstd',
  'write.metadata.compression-codec': 'gzip',
  'write.distribution-mode': 'hash',
  'write.delete.mode': 'merge-on-read',
  'write.update.mode': 'merge-on-read',
  'commit.retry.num-retries': '5',
}

/** The original platform's gold trades table: its 17 columns, hourly partitions, quantity DECIMAL(18,8). */
const ORIGINAL_TRADES = `CREATE TABLE ${NS}.gold_crypto_trades (
  message_id STRING, trade_id STRING, symbol STRING, exchange STRING, asset_class STRING,
  timestamp BIGINT, price DECIMAL(18,8), quantity DECIMAL(18,8), currency STRING, side STRING,
  trade_conditions ARRAY<STRING>, source_sequence BIGINT, ingestion_timestamp BIGINT, platform_sequence BIGINT,
  vendor_data MAP<STRING, STRING>, exchange_date DATE, exchange_hour INT)
USING iceberg PARTITIONED BY (exchange_date, exchange_hour)
${properties({
  ...SHARED_PROPERTIES,
  'commit.manifest.min-count-to-merge': '10',
  'commit.manifest-merge.enabled': 'true',
  'write.target-file-size-bytes': '268435456',
  'write.metadata.delete-after-commit.enabled': 'false',
  'write.metadata.previous-versions-max': '100',
})}`

/** The original platform's candle table of a timeframe: every column NOT NULL, volume DECIMAL(18,8). */
const originalCandles = (tf: string) => `CREATE TABLE ${NS}.gold_ohlcv_${tf} (
  symbol STRING NOT NULL, exchange STRING NOT NULL, window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL,
  window_date DATE NOT NULL, open_price DECIMAL(18,8) NOT NULL, high_price DECIMAL(18,8) NOT NULL,
  low_price DECIMAL(18,8) NOT NULL, close_price DECIMAL(18,8) NOT NULL, volume DECIMAL(18,8) NOT NULL,
  trade_count BIGINT NOT NULL, vwap DECIMAL(18,8) NOT NULL, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL)
USING iceberg PARTITIONED BY (${tf === '1d' ? 'months' : 'days'}(window_date))
${properties({...SHARED_PROPERTIES, 'write.target-file-size-bytes': '67108864'})}`

describeSpark('adopting the original platform tables on Spark', () => {
  vi.setConfig({testTimeout: 900_000})
  const spark = new SparkTestHome()
  const duckdb = mkdtempSync(join(tmpdir(), 'k2ops-adopt-duckdb-'))
  const cli = (args: string[]) => k2ops([...args, '--home', spark.dir, '--engine', 'spark'], {K2OPS_NOW: NOW}, {timeoutMs: 600_000})

  async function withSql<T>(work: (engine: SparkEngine) => Promise<T>): Promise<T> {
    const engine = await spark.open()
    try {
      return await work(engine)
    } finally {
      await engine.close()
    }
  }

  /** Column → type, as DESCRIBE prints them. */
  const describe = (table: string) =>
    withSql(async (engine) => {
      const [result] = await engine.session.sql([`DESCRIBE TABLE ${NS}.${table}`])
      return Object.fromEntries(result.rows.filter(([name]) => name && !String(name).startsWith('#')).map(([name, type]) => [name, type]))
    })

  beforeAll(async () => {
    await withSql((engine) => engine.session.sql([`CREATE NAMESPACE ${NS}`, ORIGINAL_TRADES, ...TIMEFRAMES.map((tf) => originalCandles(tf))]))
  }, SPARK_START_TIMEOUT_MS)

  afterAll(async () => {
    await spark.stop()
    rmSync(duckdb, {recursive: true, force: true})
  })

  const widened = [
    {table: `${NS}.gold_crypto_trades`, action: 'altered', changes: ['quantity DECIMAL(18,8) → DECIMAL(38,8)', 'added covered_trades BIGINT']},
    ...TIMEFRAMES.map((tf) => ({
      table: `${NS}.gold_ohlcv_${tf}`,
      action: 'altered',
      changes: ['volume DECIMAL(18,8) → DECIMAL(38,8)', 'added quote_volume DECIMAL(38,16), taker_buy_volume DECIMAL(38,8), taker_buy_quote_volume DECIMAL(38,16)'],
      fill: KLINE_FILL_COMMAND,
    })),
    {table: 'iceberg.k2ops_meta.flow_watermarks', action: 'created', changes: []},
    {table: 'iceberg.k2ops_meta.ingested_files', action: 'created', changes: []},
  ]

  it('init --dry-run shows the widening and the missing tables, and changes nothing', async () => {
    const dryRun = await cli(['init', '--dry-run', '--json'])
    expect(dryRun.exitCode, dryRun.stderr).toBe(0)
    expect(dryRun.json).toMatchObject({engine: 'spark', dryRun: true, warehouse: NS, recordedEngine: null})
    expect(dryRun.json.schema).toEqual(widened)
    const human = await cli(['init', '--dry-run'])
    expect(human.exitCode, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/volume DECIMAL\(18,8\) → DECIMAL\(38,8\)/)
    expect(human.stdout).toMatch(/quantity DECIMAL\(18,8\) → DECIMAL\(38,8\)/)
    expect(human.stdout).toMatch(/flow_watermarks/)
    expect(human.stdout).toContain(`Next: ${KLINE_FILL_COMMAND} fills the added columns of the candles built before (after init without --dry-run)`)
    expect(await describe('gold_crypto_trades')).toMatchObject({quantity: 'decimal(18,8)'})
    for (const tf of TIMEFRAMES) expect(await describe(`gold_ohlcv_${tf}`)).toMatchObject({volume: 'decimal(18,8)'})
    const namespaces = await withSql(async (engine) => (await engine.session.sql(['SHOW NAMESPACES IN iceberg']))[0].rows.map(([name]) => name))
    expect(namespaces).toEqual(['market_data'])
  })

  it('init widens the columns and creates the missing tables; a second init adopts them as they are', async () => {
    const init = await cli(['init', '--json'])
    expect(init.exitCode, init.stderr).toBe(0)
    // Made on Spark by --engine, the home says so in its config.json: its later commands need no flag.
    expect(init.json).toMatchObject({dryRun: false, recordedEngine: 'spark'})
    expect(JSON.parse(readFileSync(join(spark.dir, 'config.json'), 'utf8'))).toEqual({engine: 'spark'})
    expect(init.json.schema).toEqual(widened)
    expect(await describe('gold_crypto_trades')).toMatchObject({quantity: 'decimal(38,8)', message_id: 'string', vendor_data: 'map<string,string>'})
    for (const tf of TIMEFRAMES) expect(await describe(`gold_ohlcv_${tf}`)).toMatchObject({volume: 'decimal(38,8)'})
    const again = await cli(['init', '--json'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.json.schema).toEqual(widened.map(({table}) => ({table, action: 'adopted', changes: []})))
    expect(again.json.recordedEngine).toBeNull()
  })

  it.skipIf(!hasRealData)('ingests and backfills into the adopted tables, with the candles DuckDB gives', async () => {
    for (const [home, engine] of [
      [spark.dir, 'spark'],
      [duckdb, 'duckdb'],
    ]) {
      const ingest = await k2ops(['ingest', TAPE, '--exchange', 'BINANCE_USDM', '--home', home, '--engine', engine, '--json'], {K2OPS_NOW: NOW}, {timeoutMs: 600_000})
      expect(ingest.exitCode, ingest.stderr).toBe(0)
      expect(ingest.json.inserted).toBe(21_313)
      const backfill = await k2ops(['backfill', '--timeframe', 'all', ...RANGE, '--force', '--home', home, '--engine', engine, '--json'], {K2OPS_NOW: NOW}, {timeoutMs: 600_000})
      expect(backfill.exitCode, backfill.stderr).toBe(0)
    }

    const onSpark = await withSql(async (engine) => {
      const [extra, properties] = await engine.session.sql([
        `SELECT count(*), count(message_id), count(asset_class), count(currency), count(trade_conditions), count(platform_sequence), count(vendor_data) FROM ${NS}.gold_crypto_trades`,
        `SHOW TBLPROPERTIES ${NS}.gold_ohlcv_1m ('write.delete.mode')`,
      ])
      // The original's own columns stay empty; its table properties stay.
      expect(extra.rows[0]).toEqual(['21313', '0', '0', '0', '0', '0', '0'])
      expect(properties.rows[0]).toEqual(['write.delete.mode', 'merge-on-read'])
      return everyCandle(engine)
    })
    const onDuckdb = await duckdbCandles(duckdb)
    expect(onSpark['BINANCE_USDM BTCUSDT 1m']).toHaveLength(6)
    expect(onSpark).toEqual(onDuckdb)
  })

  it('refuses (exit 2, one line naming the table and the column) a table that lacks a column k2ops needs', async () => {
    await withSql((engine) => engine.session.sql([`ALTER TABLE ${NS}.gold_ohlcv_5m DROP COLUMN vwap`]))
    const init = await cli(['init'])
    expect(init.exitCode).toBe(2)
    const [message, ...rest] = init.stderr.trim().split('\n')
    expect(message).toMatch(/^k2ops: iceberg\.market_data\.gold_ohlcv_5m: cannot adopt the table: column vwap DECIMAL\(18,8\) is missing$/)
    expect(rest.join('\n')).not.toMatch(/\n\s+at /)
  })
})
