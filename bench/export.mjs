#!/usr/bin/env node
// k2ops benchmark: `k2ops candles export` of a whole warehouse to Parquet. Run with
// `npm run bench:export` (builds first) or `node bench/export.mjs` after a build.
//
//   node bench/export.mjs [--trades N] [--days D] [--timeframe TF] [--keep]
//   env: BENCH_TRADES, BENCH_DAYS
//
// 1. a warehouse: N synthetic trades over D days (DEMO_MARKETS) ingested and backfilled by k2ops;
// 2. the floor: DuckDB's own COPY of the timeframe's table to Parquet, in this process;
// 3. `k2ops candles export --timeframe TF --all --format parquet` over the whole range (whole process,
//    wall and peak RSS), then the file read back in DuckDB: the same rows and the same types as the
//    table (symmetric EXCEPT ALL), which the benchmark checks and fails on.
import {mkdirSync, rmSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {gnuTimeAvailable, runProcess, timed, withDuckDB} from './measure.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const RUN_JS = join(ROOT, 'bin', 'run.js')
const START = '2024-08-01T00:00:00Z'
const {values: flags} = parseArgs({options: {trades: {type: 'string'}, days: {type: 'string'}, timeframe: {type: 'string'}, keep: {type: 'boolean'}}, strict: true})
const trades = Number(flags.trades ?? process.env.BENCH_TRADES ?? 5_000_000)
const days = Number(flags.days ?? process.env.BENCH_DAYS ?? 7)
const timeframe = flags.timeframe ?? '1m'
const end = new Date(Date.parse(START) + days * 86_400_000).toISOString().replace('.000Z', 'Z')
const work = join(ROOT, 'bench', 'out', `export-${process.pid}`)
const home = join(work, 'home')
const rss = gnuTimeAvailable() ? 'time' : 'proc'
const env = {...process.env, K2OPS_NOW: new Date(Date.parse(end) + 3_600_000).toISOString()}
const log = (line) => process.stderr.write(`bench: ${line}\n`)
const mib = (bytes) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`

const {syntheticTradesSql, DEMO_MARKETS} = await import(join(ROOT, 'dist/pipeline/engine/duckdb/synthetic-trades.js'))
const {TIMEFRAME_SPECS} = await import(join(ROOT, 'dist/pipeline/timeframes.js'))

async function k2ops(args, measure) {
  const run = await runProcess(process.execPath, [RUN_JS, ...args, '--home', home], {env, cwd: ROOT, rss: measure})
  if (run.code !== 0) throw new Error(`k2ops ${args.join(' ')} exited ${run.code}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  return run
}

mkdirSync(work, {recursive: true})
try {
  log(`generating ${trades} trades over ${days} days`)
  const tape = join(work, 'tape.parquet')
  const sql = syntheticTradesSql({markets: DEMO_MARKETS, trades, fromMicros: Date.parse(START) * 1000, toMicros: Date.parse(end) * 1000})
  await withDuckDB(':memory:', {memory_limit: '1GB', temp_directory: join(work, 'tmp')}, (c) => c.run(`COPY (${sql}) TO '${tape}' (FORMAT parquet)`))
  log('k2ops init, ingest, backfill')
  await k2ops(['init'])
  await k2ops(['ingest', tape, '--format', 'k2'])
  await k2ops(['backfill', '--timeframe', 'all', '--from', START, '--to', end])

  const table = TIMEFRAME_SPECS[timeframe].table
  const warehouse = join(home, 'warehouse.duckdb')
  const floorFile = join(work, 'floor.parquet')
  const floor = await timed(() => withDuckDB(warehouse, {access_mode: 'READ_ONLY'}, (c) => c.run(`COPY (SELECT * FROM ${table} ORDER BY window_start, exchange, symbol) TO '${floorFile}' (FORMAT parquet, COMPRESSION zstd)`)))
  log(`floor: DuckDB COPY ${table} in ${(floor.ms / 1000).toFixed(2)} s`)

  const out = join(work, `candles-${timeframe}.parquet`)
  const run = await k2ops(['candles', 'export', '--timeframe', timeframe, '--from', START, '--to', end, '--all', '--out', out, '--json'], rss)
  const exported = JSON.parse(run.stdout)
  const check = await withDuckDB(':memory:', {memory_limit: '1GB'}, async (c) => {
      await c.run(`ATTACH '${warehouse}' AS w (READ_ONLY)`)
      const columns = 'symbol, exchange, window_start, window_end, open_price, high_price, low_price, close_price, volume, trade_count, vwap, quote_volume, taker_buy_volume, taker_buy_quote_volume'
      const a = `SELECT ${columns} FROM w.${table}`
      const b = `SELECT ${columns} FROM read_parquet('${out}')`
      const differ = (await c.runAndReadAll(`SELECT (SELECT count(*) FROM (${a} EXCEPT ALL ${b})) + (SELECT count(*) FROM (${b} EXCEPT ALL ${a})) AS n`)).getRowObjects()[0].n
      const typeOf = async (from) => (await c.runAndReadAll(`DESCRIBE SELECT ${columns} FROM ${from}`)).getRowObjectsJson().map((r) => `${r.column_name} ${r.column_type}`)
      return {differ: Number(differ), sameTypes: JSON.stringify(await typeOf(`w.${table}`)) === JSON.stringify(await typeOf(`read_parquet('${out}')`))}
  })
  const report = {
    trades,
    days,
    timeframe,
    rows: exported.rows,
    markets: exported.markets,
    bytes: statSync(out).size,
    exportSeconds: +(run.ms / 1000).toFixed(2),
    exportPeakRss: run.peakRssKb ? run.peakRssKb * 1024 : null,
    floorSeconds: +(floor.ms / 1000).toFixed(2),
    ratio: +(run.ms / floor.ms).toFixed(2),
    readBack: check,
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n')
  log(`export: ${report.rows} rows, ${mib(report.bytes)} in ${report.exportSeconds} s, peak RSS ${report.exportPeakRss ? mib(report.exportPeakRss) : '?'}; floor ${report.floorSeconds} s (×${report.ratio}); read back: ${check.differ} rows differ, types ${check.sameTypes ? 'equal' : 'DIFFER'}`)
  if (check.differ !== 0 || !check.sameTypes) process.exitCode = 1
} finally {
  if (!flags.keep) rmSync(work, {recursive: true, force: true})
}
