import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import type {CandleRow} from '../../src/pipeline/engine/engine.js'

import {k2ops} from '../helpers/cli.js'
import {MarketCandles, duckdbCandles, everyCandle} from '../helpers/engine-candles.js'
import {hasRealData, realFile} from '../helpers/real-data.js'
import {canonical} from '../helpers/reference-candles.js'
import {SPARK_START_TIMEOUT_MS, describeSpark} from '../helpers/spark.js'
import {SparkTestHome} from '../helpers/spark-engine.js'

// Every real tape through the CLI on both engines: the same ingest flags and backfills into a
// DuckDB home and a Spark home, then every candle of every timeframe of every market compared as
// exact decimal text. The Spark home gets all tapes (one driver, few jobs); each backfill covers
// only its tapes' own range.

const NOW = '2030-01-01T00:00:00Z'
const USDM = 'binance_usdm_BTCUSDT_2024-08-08'
const USDM_TRADES = realFile(USDM, 'BTCUSDT-usdm-trades_2024-08-08T235416Z_2024-08-08T235959Z.csv')
const KRAKEN = ['kraken_BCHEUR_trades_part1.csv', 'kraken_BCHEUR_trades_part2_incremental.csv'].map((name) => realFile('kraken_BCHEUR_2023-01', name))

/** One ingest command per tape set (its own flags), as test/e2e/real-tapes.test.ts loads them. */
const TAPES: Array<{files: string[]; flags: string[]; rows: number}> = [
  {files: [USDM_TRADES], flags: ['--exchange', 'BINANCE_USDM'], rows: 21_313},
  {
    // The same trades in two layouts: the second file is all duplicates.
    files: ['BTCUSDT-spot-trades_2024-08-08T235415Z_2024-08-09T000505Z.csv', 'BTCUSDT-spot-trades_2024-08-08T235415Z_2024-08-09T000505Z.binance-vision-layout.csv'].map((name) =>
      realFile('binance_spot_BTCUSDT_2024-08-08', name),
    ),
    flags: [],
    rows: 19_904,
  },
  {files: [realFile('binance_cm_BTCUSD_PERP_2024-08-08', 'BTCUSD_PERP-cm-trades_2024-08-08T235417Z_2024-08-09T000504Z.csv')], flags: ['--exchange', 'BINANCE_COINM'], rows: 5235},
  {files: [realFile('binance_spot_XRPETH_2019-10-11', 'XRPETH-aggTrades_2019-10-11T000011Z_2019-10-13T111928Z.csv')], flags: ['--symbol', 'XRPETH'], rows: 12_477},
  {files: KRAKEN, flags: ['--format', 'kraken', '--symbol', 'BCHEUR'], rows: 148 + 486},
]

/** The tapes' ranges: the USD-M, spot and COIN-M tapes share one (2024-08-08 23:50 → 00:10). */
const RANGES: Array<[string, string]> = [
  ['2024-08-08T23:50:00Z', '2024-08-09T00:10:00Z'],
  ['2019-10-11T00:00:00Z', '2019-10-13T11:20:00Z'],
  ['2023-01-01T00:00:00Z', '2023-01-03T00:00:00Z'],
]

async function ingestAndBackfill(home: string, env: Record<string, string>): Promise<void> {
  for (const tape of TAPES) {
    const ingest = await k2ops(['ingest', ...tape.files, ...tape.flags, '--home', home, '--json'], env, {timeoutMs: 600_000})
    expect(ingest.exitCode, ingest.stderr).toBe(0)
    expect(ingest.json).toMatchObject({inserted: tape.rows, rejected: 0})
  }

  for (const [from, to] of RANGES) {
    const backfill = await k2ops(['backfill', '--timeframe', 'all', '--from', from, '--to', to, '--force', '--home', home, '--json'], env, {timeoutMs: 900_000})
    expect(backfill.exitCode, backfill.stderr).toBe(0)
    expect(backfill.json.candles).toBeGreaterThan(0)
  }
}

function csvRows(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => line.trim().split(','))
}

(hasRealData ? describeSpark : describe.skip)('the real tapes on Spark + Iceberg', () => {
  // Five ingests and seven backfilled days (five MERGEs each) on one warm driver: minutes.
  vi.setConfig({testTimeout: 1_800_000})
  const spark = new SparkTestHome()
  const duckdb = mkdtempSync(join(tmpdir(), 'k2ops-real-duckdb-'))
  const sparkEnv = {K2OPS_NOW: NOW, K2OPS_ENGINE: 'spark'}
  let onDuckdb: MarketCandles
  let onSpark: MarketCandles

  beforeAll(async () => {
    await Promise.all([ingestAndBackfill(duckdb, {K2OPS_NOW: NOW}), ingestAndBackfill(spark.dir, sparkEnv)])
    onDuckdb = await duckdbCandles(duckdb)
    const engine = await spark.openExisting()
    try {
      onSpark = await everyCandle(engine)
    } finally {
      await engine.close()
    }
  }, 1_800_000 + SPARK_START_TIMEOUT_MS)

  afterAll(async () => {
    await spark.stop()
    rmSync(duckdb, {recursive: true, force: true})
  })

  it('gives every candle of every timeframe of every market exactly as DuckDB does', () => {
    expect(Object.keys(onSpark).sort()).toEqual(Object.keys(onDuckdb).sort())
    expect(Object.keys(onDuckdb)).toHaveLength(5 * 5)
    for (const [key, candles] of Object.entries(onDuckdb)) {
      expect(candles.length, key).toBeGreaterThan(0)
      expect(onSpark[key], key).toEqual(candles)
    }
  })

  it("gives Binance's official USD-M 1m klines for every complete minute", () => {
    const candles = new Map(onSpark['BINANCE_USDM BTCUSDT 1m'].map((c: CandleRow) => [Date.parse(c.window_start), c]))
    let compared = 0
    for (const [openTime, open, high, low, close, volume, , quoteVolume, count, takerBuyVolume, takerBuyQuoteVolume] of csvRows(realFile(USDM, 'BTCUSDT-usdm-klines-1m_2024-08-08T2350Z_2024-08-09T0010Z.csv')).slice(1)) {
      // The tape covers 23:54:16 → 23:59:59.643: the complete minutes are 23:55 to 23:59.
      if (Number(openTime) < 1_723_161_300_000 || Number(openTime) > 1_723_161_540_000) continue
      const ours = candles.get(Number(openTime))
      const where = `kline ${new Date(Number(openTime)).toISOString()}`
      expect(ours, where).toBeDefined()
      expect([ours!.open_price, ours!.high_price, ours!.low_price, ours!.close_price, ours!.volume].map(canonical), where).toEqual([open, high, low, close, volume].map(canonical))
      expect(ours!.trade_count, where).toBe(count)
      expect([ours!.quote_volume, ours!.taker_buy_volume, ours!.taker_buy_quote_volume].map((value) => canonical(value ?? 'missing')), where).toEqual([quoteVolume, takerBuyVolume, takerBuyQuoteVolume].map(canonical))
      compared++
    }

    expect(compared).toBe(5)
    expect(candles.get(1_723_161_240_000)?.trade_count).toBe('1751')
    expect(candles.size).toBe(6)
  })

  it('reads timeframes that are not stored (4h with --fill, London days, weeks) and exports them as DuckDB does', async () => {
    for (const read of [
      ['XRPETH', '--timeframe', '4h', '--fill', 'previous'],
      ['XRPETH', '--timeframe', '1d', '--tz', 'Europe/London', '--day-start', '08:00'],
      ['BTCUSDT', '--exchange', 'BINANCE_USDM', '--timeframe', '1w'],
    ]) {
      const args = ['candles', ...read, '--from', '2019-01-01', '--to', '2025-01-01', '--limit', '1000', '--json']
      const [onSparkHome, onDuckdbHome] = await Promise.all([k2ops([...args, '--home', spark.dir], sparkEnv, {timeoutMs: 600_000}), k2ops([...args, '--home', duckdb], {K2OPS_NOW: NOW})])
      expect(onSparkHome.exitCode, onSparkHome.stderr).toBe(0)
      expect(onSparkHome.json.candles.length, read.join(' ')).toBeGreaterThan(0)
      expect(onSparkHome.json, read.join(' ')).toEqual(onDuckdbHome.json)
    }

    // An export of every market: the same file from either engine.
    const outs = [join(spark.dir, 'all.jsonl'), join(duckdb, 'all.jsonl')]
    const args = (out: string) => ['candles', 'export', '--timeframe', '4h', '--from', '2019-01-01', '--to', '2025-01-01', '--all', '--out', out, '--json']
    const [exported] = await Promise.all([k2ops([...args(outs[0]), '--home', spark.dir], sparkEnv, {timeoutMs: 600_000}), k2ops([...args(outs[1]), '--home', duckdb], {K2OPS_NOW: NOW})])
    expect(exported.exitCode, exported.stderr).toBe(0)
    expect(exported.json).toMatchObject({markets: 5, format: 'jsonl'})
    expect(readFileSync(outs[0], 'utf8')).toBe(readFileSync(outs[1], 'utf8'))
  })

  it('adds nothing when a tape is ingested again', async () => {
    for (const tape of [TAPES[0], TAPES.at(-1)!]) {
      const again = await k2ops(['ingest', ...tape.files, ...tape.flags, '--home', spark.dir, '--json'], sparkEnv, {timeoutMs: 600_000})
      expect(again.exitCode, again.stderr).toBe(0)
      expect(again.json).toMatchObject({inserted: 0, duplicates: tape.rows})
    }

    const engine = await spark.openExisting()
    try {
      const {trades} = await engine.summarize()
      expect(trades).toBe(TAPES.reduce((sum, tape) => sum + tape.rows, 0))
    } finally {
      await engine.close()
    }
  })
})
