#!/usr/bin/env node
// k2ops benchmark: backfill of all five timeframes against a raw-DuckDB floor, plus trigger and
// start-up latency. Run with `npm run bench` (builds first) or `node bench/backfill.mjs` after a build.
//
//   node bench/backfill.mjs [--trades N] [--days D] [--keep] [--json] [--split none|day|day-market] [--direct-load]
//   env: BENCH_TRADES, BENCH_DAYS, BENCH_KEEP=1, BENCH_JSON=1, BENCH_SPLIT, BENCH_DIRECT_LOAD=1
//
// What is measured (see bench/README.md for the details and the exact floor):
//   1. generate N synthetic trades over D days (syntheticTradesSql, DEMO_MARKETS) into a K2-contract
//      Parquet file (or one per day / per day and market with --split), in a separate in-memory DuckDB;
//   2. `k2ops init` + `k2ops ingest FILE --format k2` (whole processes);
//   3. the floor: on a copy of the ingested warehouse file, the five candle tables computed from
//      all trades by candleSelectSql in ONE transaction of five INSERT … SELECT statements,
//      in-process, same memory_limit and threads as k2ops;
//   4. `k2ops backfill --timeframe all --from <start> --to <end>` (whole process, peak RSS);
//   5. `k2ops trigger 1m` after the backfill (median of 5);
//   6. `k2ops --help` vs `node -e 0` (median of 10 each);
//   and checks once that the floor's candles equal the backfill's (symmetric EXCEPT ALL).
import {copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {availableParallelism, cpus, loadavg, totalmem} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {contention, gnuTimeAvailable, machineCpu, median, runProcess, timed, withDuckDB as withDuckDBAt} from './measure.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const BENCH_OUT = join(ROOT, 'bench', 'out')
const RUN_JS = join(ROOT, 'bin', 'run.js')
const DAY_US = 86_400_000_000
const START_US = Date.UTC(2024, 7, 1) * 1000 // 2024-08-01T00:00:00Z
const TIMEFRAMES = ['1m', '5m', '30m', '1h', '1d']
const CANDLE_COLUMNS = 'symbol, exchange, window_start, window_end, window_date, open_price, high_price, low_price, close_price, volume, trade_count, vwap, quote_volume, taker_buy_volume, taker_buy_quote_volume'

const TARGETS = {backfillRatio: 1.3, backfillRssBytes: 1.5 * 1024 ** 3, triggerMs: 500, healthMs: 2000, startupRatio: 2}

// ------------------------------------------------------------------------------------------------
// Options

const {values: flags} = parseArgs({
  options: {
    trades: {type: 'string'},
    days: {type: 'string'},
    keep: {type: 'boolean'},
    json: {type: 'boolean'},
    'direct-load': {type: 'boolean'},
    split: {type: 'string'},
    help: {type: 'boolean', short: 'h'},
  },
  strict: true,
})
if (flags.help) {
  process.stdout.write(`usage: node bench/backfill.mjs [--trades N] [--days D] [--keep] [--json] [--split none|day|day-market] [--direct-load]
  --trades N      synthetic trades (default 20000000; env BENCH_TRADES)
  --days D        days they span, from 2024-08-01 (default 7; env BENCH_DAYS)
  --keep          keep the work directory under bench/out/ (env BENCH_KEEP=1)
  --json          print one JSON document of the numbers instead of the table (env BENCH_JSON=1)
  --split HOW     write the tape as one Parquet file (none, the default), one per UTC day (day),
                  or one per day and market (day-market, like exchange tape files); all are given
                  to one \`k2ops ingest\` (env BENCH_SPLIT)
  --direct-load   load the Parquet file with DuckDB directly instead of \`k2ops ingest\` (a fallback
                  for when the ingest command is not available; ingest numbers are then not k2ops')
`)
  process.exit(0)
}

const envFlag = (name) => ['1', 'true', 'yes'].includes(String(process.env[name] ?? '').toLowerCase())
const options = {
  trades: positiveInt(flags.trades ?? process.env.BENCH_TRADES ?? '20000000', '--trades'),
  days: positiveInt(flags.days ?? process.env.BENCH_DAYS ?? '7', '--days'),
  keep: Boolean(flags.keep) || envFlag('BENCH_KEEP'),
  json: Boolean(flags.json) || envFlag('BENCH_JSON'),
  directLoad: Boolean(flags['direct-load']) || envFlag('BENCH_DIRECT_LOAD'),
  split: flags.split ?? process.env.BENCH_SPLIT ?? 'none',
}
if (!['none', 'day', 'day-market'].includes(options.split)) fail(`--split: '${options.split}' is not one of none, day, day-market`)

function positiveInt(text, where) {
  const value = Number(text)
  if (!Number.isInteger(value) || value <= 0) fail(`${where}: '${text}' is not a positive whole number`)
  return value
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`)
  process.exit(2)
}

const log = (line) => process.stderr.write(`[bench ${((performance.now() - benchStarted) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)
const benchStarted = performance.now()

// ------------------------------------------------------------------------------------------------
// Preconditions: a build, and the ingest command unless --direct-load.

for (const file of ['dist/pipeline/engine/duckdb/synthetic-trades.js', 'dist/pipeline/engine/duckdb/candle-sql.js', 'dist/pipeline/timeframes.js', 'dist/commands/backfill/index.js', 'dist/commands/trigger.js', 'dist/commands/init.js']) {
  if (!existsSync(join(ROOT, file))) fail(`${file} is missing: run \`npm run build\` first (or \`npm run bench\`)`)
}
if (!options.directLoad && !existsSync(join(ROOT, 'dist/commands/ingest.js'))) {
  fail('dist/commands/ingest.js is missing: build the ingest command, or pass --direct-load to load the Parquet file with DuckDB directly')
}

const {DuckDBInstance} = await import('@duckdb/node-api')
const {DEMO_MARKETS, syntheticTradesSql} = await import(join(ROOT, 'dist/pipeline/engine/duckdb/synthetic-trades.js'))
const {TIMEFRAME_SPECS} = await import(join(ROOT, 'dist/pipeline/timeframes.js'))
const {floorStatements} = await import('./floor.mjs')

// ------------------------------------------------------------------------------------------------
// The run

const endUs = START_US + options.days * DAY_US
const nowUs = endUs + 3_600_000_000 // an hour after the last trade: every window (1d too) has closed
const iso = (us) => new Date(us / 1000).toISOString().replace('.000Z', 'Z')
const workDir = join(BENCH_OUT, `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`)
const home = join(workDir, 'home')
const warehouse = join(home, 'warehouse.duckdb')
const floorWarehouse = join(workDir, 'floor.duckdb')
const tapeDir = join(workDir, 'tape')
let tapeFiles = []
const memoryLimit = process.env.K2OPS_MEMORY_LIMIT || '1GB'
const threadsSetting = process.env.K2OPS_THREADS || undefined
const childEnv = {...process.env, K2OPS_NOW: iso(nowUs), NO_COLOR: '1', K2OPS_LOCK_TIMEOUT: '30'}
for (const name of ['K2OPS_HOME', 'K2OPS_WAREHOUSE', 'DEBUG']) delete childEnv[name]
const rssMethod = (await gnuTimeAvailable()) ? 'time' : existsSync('/proc/self/status') ? 'proc' : undefined

const result = {
  version: 1,
  startedAt: new Date().toISOString(),
  machine: {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model?.trim(),
    memoryGiB: +(totalmem() / 1024 ** 3).toFixed(1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
  },
  options: {trades: options.trades, days: options.days, from: iso(START_US), to: iso(endUs), now: iso(nowUs), split: options.split, directLoad: options.directLoad},
  duckdb: {memoryLimit, threads: threadsSetting ? Number(threadsSetting) : 'default'},
  rssMethod: rssMethod === 'time' ? '/usr/bin/time -v (Maximum resident set size)' : rssMethod === 'proc' ? '/proc/<pid>/status VmHWM, polled every 20 ms' : 'unavailable',
}

let exitCode = 0
mkdirSync(workDir, {recursive: true})
try {
  await generate()
  await ingest()
  await floor()
  await backfill()
  await trigger()
  await healthDaily()
  await verify()
  await startup()
} catch (error) {
  exitCode = 1
  result.error = error.message
  process.stderr.write(`bench: ${error.message}\n`)
} finally {
  result.totalSeconds = +((performance.now() - benchStarted) / 1000).toFixed(1)
  if (options.keep) {
    result.workDir = workDir
  } else {
    rmSync(workDir, {recursive: true, force: true})
  }
}

result.summary = summarize()
result.allTargetsMet = result.summary.filter((row) => row.target !== '').every((row) => row.result === 'PASS')
if (result.candlesIdentical === false) exitCode = 1
writeFileSync(join(BENCH_OUT, 'last-run.json'), JSON.stringify(result, null, 2) + '\n')
if (options.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n')
else process.stdout.write(renderTable() + '\n')
process.exit(exitCode)

// ------------------------------------------------------------------------------------------------
// 1. Synthetic trades → Parquet

async function generate() {
  log(`generating ${options.trades} trades over ${options.days} days → ${tapeDir} (split: ${options.split})`)
  mkdirSync(tapeDir, {recursive: true})
  const sql = syntheticTradesSql({markets: DEMO_MARKETS, trades: options.trades, fromMicros: START_US, toMicros: endUs, seed: 42})
  const instance = await DuckDBInstance.create(':memory:', {temp_directory: join(workDir, 'gen.tmp')})
  const connection = await instance.connect()
  const parts = []
  if (options.split === 'none') parts.push({name: 'trades.parquet', where: 'true'})
  for (let day = 0; options.split !== 'none' && day < options.days; day++) {
    const from = START_US + day * DAY_US
    const inDay = `"timestamp" >= ${from} AND "timestamp" < ${from + DAY_US}`
    const date = iso(from).slice(0, 10)
    if (options.split === 'day') parts.push({name: `trades-${date}.parquet`, where: inDay})
    else for (const m of DEMO_MARKETS) parts.push({name: `${m.exchange}-${m.symbol}-trades-${date}.parquet`, where: `${inDay} AND exchange = '${m.exchange}' AND symbol = '${m.symbol}'`})
  }
  try {
    const {ms} = await timed(async () => {
      if (parts.length === 1) {
        await connection.run(`COPY (${sql}) TO '${join(tapeDir, parts[0].name)}' (FORMAT parquet)`)
      } else {
        // Generated once, then cut: the same trades (same seed) as the single file, in the same order.
        await connection.run(`CREATE TABLE synthetic AS ${sql}`)
        for (const part of parts) await connection.run(`COPY (SELECT * FROM synthetic WHERE ${part.where}) TO '${join(tapeDir, part.name)}' (FORMAT parquet)`)
      }
    })
    tapeFiles = parts.map((part) => join(tapeDir, part.name))
    const list = `[${tapeFiles.map((f) => `'${f}'`).join(', ')}]`
    const reader = await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet(${list})`)
    const rows = Number(reader.getRowObjects()[0].n)
    const bytes = tapeFiles.reduce((sum, f) => sum + statSync(f).size, 0)
    result.generate = {seconds: +(ms / 1000).toFixed(2), rows, markets: DEMO_MARKETS.length, files: tapeFiles.length, parquetBytes: bytes}
    log(`generated ${rows} rows in ${(ms / 1000).toFixed(1)} s (${tapeFiles.length} file(s), ${(bytes / 1024 ** 2).toFixed(0)} MiB)`)
  } finally {
    connection.closeSync()
    instance.closeSync()
    rmSync(join(workDir, 'gen.tmp'), {recursive: true, force: true})
  }
}

// ------------------------------------------------------------------------------------------------
// 2. init + ingest

async function k2ops(args, rss, okCodes = [0]) {
  const before = machineCpu()
  const run = await runProcess(process.execPath, [RUN_JS, ...args], {env: childEnv, cwd: ROOT, rss})
  run.contention = contention(before, machineCpu(), run.cpuSeconds, run.ms / 1000)
  if (!okCodes.includes(run.code)) {
    let why = (run.stderr.trim() || run.stdout.trim()).split('\n').slice(-5).join(' | ')
    try {
      why = JSON.parse(run.stdout).error.message
    } catch {
      // not --json, or not JSON: keep the text
    }
    const shown = args.map((a) => (a.startsWith(workDir) ? a.slice(workDir.length + 1) : a))
    const rss = run.peakRssKb ? `, peak RSS ${mib(run.peakRssKb * 1024)}` : ''
    if (args[0] === 'ingest' && /Out of Memory/i.test(why) && options.split !== 'day-market') why += ' (smaller tape files: --split day or --split day-market)'
    throw new Error(`k2ops ${shown.length > 8 ? [...shown.slice(0, 3), '…', ...shown.slice(-5)].join(' ') : shown.join(' ')} exited ${run.code} after ${(run.ms / 1000).toFixed(1)} s${rss}: ${why}`)
  }
  return run
}

function parseJson(text, what) {
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`${what}: --json output is not JSON: ${text.slice(0, 200)}`)
  }
}

async function ingest() {
  await k2ops(['init', '--home', home, '--json'])
  const rows = result.generate.rows
  if (options.directLoad) {
    log('loading the Parquet file with DuckDB directly (--direct-load: not the ingest command)')
    const ingestionUs = endUs + 60_000_000
    const {ms} = await timed(() =>
      withDuckDB(warehouse, async (c) => {
        await c.run(`INSERT INTO market_data.gold_crypto_trades BY NAME
          SELECT trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence,
                 ${ingestionUs}::BIGINT AS ingestion_timestamp, CAST(make_timestamp("timestamp") AS DATE) AS exchange_date
          FROM read_parquet([${tapeFiles.map((f) => `'${f}'`).join(', ')}])`)
      }),
    )
    result.ingest = {method: 'direct DuckDB INSERT (--direct-load)', seconds: +(ms / 1000).toFixed(2), rowsPerSecond: Math.round(rows / (ms / 1000))}
  } else {
    log('k2ops ingest')
    const run = await k2ops(['ingest', ...tapeFiles, '--format', 'k2', '--home', home, '--json'], rssMethod)
    result.ingest = {
      method: `k2ops ingest --format k2 (whole process, ${tapeFiles.length} file(s))`,
      seconds: +(run.ms / 1000).toFixed(2),
      rowsPerSecond: Math.round(rows / (run.ms / 1000)),
      peakRssBytes: run.peakRssKb ? run.peakRssKb * 1024 : undefined,
      cpuSeconds: run.cpuSeconds,
      contention: run.contention,
      output: parseJson(run.stdout, 'ingest'),
    }
  }
  const stored = await withDuckDB(warehouse, async (c) => Number((await c.runAndReadAll('SELECT count(*)::BIGINT AS n FROM market_data.gold_crypto_trades')).getRowObjects()[0].n), {readOnly: true})
  if (stored !== rows) throw new Error(`the warehouse holds ${stored} trades after ingest, expected ${rows}`)
  result.ingest.storedTrades = stored
  result.ingest.warehouseBytes = statSync(warehouse).size
  log(`ingested ${stored} trades in ${result.ingest.seconds} s (${result.ingest.rowsPerSecond} rows/s)`)
}

async function withDuckDB(path, work, {readOnly = false} = {}) {
  const settings = {memory_limit: memoryLimit}
  if (threadsSetting) settings.threads = threadsSetting
  if (readOnly) settings.access_mode = 'READ_ONLY'
  return withDuckDBAt(path, settings, work)
}

// ------------------------------------------------------------------------------------------------
// 3. The floor: one transaction, five INSERT … SELECT candleSelectSql(tf, all trades)

async function floor() {
  for (const suffix of ['', '.wal']) if (existsSync(warehouse + suffix)) copyFileSync(warehouse + suffix, floorWarehouse + suffix)
  log('floor: five INSERT … SELECT candleSelectSql(tf, {where: "true"}) in one transaction, in-process')
  const statements = floorStatements(nowUs)
  if (statements.map((s) => s.tf).join() !== TIMEFRAMES.join()) throw new Error('floor: unexpected timeframes')
  const opened = await timed(async () => {
    const settings = {memory_limit: memoryLimit}
    if (threadsSetting) settings.threads = threadsSetting
    const instance = await DuckDBInstance.create(floorWarehouse, settings)
    return {instance, connection: await instance.connect()}
  })
  const {instance, connection} = opened.value
  try {
    const setting = (await connection.runAndReadAll(`SELECT current_setting('threads') AS threads, current_setting('memory_limit') AS memory_limit`)).getRowObjects()[0]
    result.duckdb.effectiveThreads = Number(setting.threads)
    result.duckdb.effectiveMemoryLimit = String(setting.memory_limit)
    const perTimeframe = {}
    const cpuBefore = process.cpuUsage()
    const machineBefore = machineCpu()
    const tx = await timed(async () => {
      await connection.run('BEGIN TRANSACTION')
      for (const [i, tf] of TIMEFRAMES.entries()) perTimeframe[tf] = +((await timed(() => connection.run(statements[i].sql))).ms / 1000).toFixed(3)
      await connection.run('COMMIT')
    })
    const checkpoint = await timed(() => connection.run('CHECKPOINT'))
    const seconds = (tx.ms + checkpoint.ms) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    const cpuSeconds = (cpu.user + cpu.system) / 1e6
    result.floor = {
      definition: 'BEGIN; for tf in 1m,5m,30m,1h,1d: INSERT INTO gold_ohlcv_<tf> SELECT c.*, now, now FROM (candleSelectSql(tf, {where: "true"})) c; COMMIT; CHECKPOINT — in-process on a copy of the ingested warehouse, same memory_limit/threads as k2ops; opening the file is not counted',
      seconds: +seconds.toFixed(3),
      transactionSeconds: +(tx.ms / 1000).toFixed(3),
      checkpointSeconds: +(checkpoint.ms / 1000).toFixed(3),
      openSeconds: +(opened.ms / 1000).toFixed(3),
      perTimeframeSeconds: perTimeframe,
      cpuSeconds: +cpuSeconds.toFixed(2),
      contention: contention(machineBefore, machineCpu(), cpuSeconds, seconds),
    }
    log(`floor ${seconds.toFixed(2)} s (${Object.entries(perTimeframe).map(([tf, s]) => `${tf} ${s}`).join(', ')}; checkpoint ${(checkpoint.ms / 1000).toFixed(2)})`)
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

// ------------------------------------------------------------------------------------------------
// 4. k2ops backfill (whole process, peak RSS)

async function backfill() {
  log(`k2ops backfill --timeframe all --from ${iso(START_US)} --to ${iso(endUs)}`)
  const run = await k2ops(['backfill', '--timeframe', 'all', '--from', iso(START_US), '--to', iso(endUs), '--home', home, '--json'], rssMethod)
  const output = parseJson(run.stdout, 'backfill')
  const seconds = run.ms / 1000
  result.backfill = {
    seconds: +seconds.toFixed(3),
    commandDurationSeconds: output.durationMs === undefined ? undefined : +(output.durationMs / 1000).toFixed(3),
    ratioToFloor: +(seconds / result.floor.seconds).toFixed(3),
    peakRssBytes: run.peakRssKb ? run.peakRssKb * 1024 : undefined,
    cpuSeconds: run.cpuSeconds,
    cpuRatioToFloor: run.cpuSeconds === undefined ? undefined : +(run.cpuSeconds / result.floor.cpuSeconds).toFixed(3),
    contention: run.contention,
    days: output.days,
    candles: output.candles,
    trades: output.trades,
  }
  log(`backfill ${seconds.toFixed(2)} s = ${result.backfill.ratioToFloor}× floor, peak RSS ${mib(result.backfill.peakRssBytes)}`)
}

// ------------------------------------------------------------------------------------------------
// 5. trigger 1m after the backfill

async function trigger() {
  const times = []
  for (let i = 0; i < 5; i++) times.push((await k2ops(['trigger', '1m', '--home', home])).ms)
  result.trigger = {command: 'k2ops trigger 1m (whole process)', medianSeconds: +(median(times) / 1000).toFixed(3), runsSeconds: times.map((ms) => +(ms / 1000).toFixed(3))}
  log(`trigger 1m median ${result.trigger.medianSeconds} s`)
}

// ------------------------------------------------------------------------------------------------
// 5b. health daily over the whole warehouse (its last day: ~1/days of the trades)

async function healthDaily() {
  const times = []
  let output
  for (let i = 0; i < 3; i++) {
    // A check may fail here (the synthetic feed stopped an hour before K2OPS_NOW): exit 1 is a report, not an error.
    const run = await k2ops(['health', 'daily', '--home', home, '--json'], undefined, [0, 1])
    times.push(run.ms)
    output = parseJson(run.stdout, 'health daily')
  }

  const statuses = {pass: 0, warn: 0, fail: 0}
  for (const check of output.checks) statuses[check.status]++
  result.healthDaily = {
    command: 'k2ops health daily --json (whole process)',
    medianSeconds: +(median(times) / 1000).toFixed(3),
    runsSeconds: times.map((ms) => +(ms / 1000).toFixed(3)),
    status: output.status,
    checks: statuses,
  }
  log(`health daily median ${result.healthDaily.medianSeconds} s (${output.checks.length} checks: ${statuses.pass} pass, ${statuses.warn} warn, ${statuses.fail} fail)`)
}

// ------------------------------------------------------------------------------------------------
// Candles of the floor == candles of the backfill (all columns but created_at/updated_at)

async function verify() {
  const tables = {}
  await withDuckDB(
    warehouse,
    async (c) => {
      await c.run(`ATTACH '${floorWarehouse}' AS bench_floor (READ_ONLY)`)
      const main = (await c.runAndReadAll('SELECT current_database() AS db')).getRowObjects()[0].db
      for (const tf of TIMEFRAMES) {
        const table = TIMEFRAME_SPECS[tf].table
        const a = `SELECT ${CANDLE_COLUMNS} FROM "${main}".${table}`
        const b = `SELECT ${CANDLE_COLUMNS} FROM bench_floor.${table}`
        const row = (
          await c.runAndReadAll(`SELECT (SELECT count(*) FROM "${main}".${table})::BIGINT AS k2ops, (SELECT count(*) FROM bench_floor.${table})::BIGINT AS floor,
                  (SELECT count(*) FROM ((${a} EXCEPT ALL ${b}) UNION ALL (${b} EXCEPT ALL ${a})))::BIGINT AS differing`)
        ).getRowObjects()[0]
        tables[tf] = {k2opsRows: Number(row.k2ops), floorRows: Number(row.floor), differing: Number(row.differing)}
      }
    },
    {readOnly: true},
  )
  result.candles = tables
  result.candlesIdentical = Object.values(tables).every((t) => t.differing === 0 && t.k2opsRows === t.floorRows && t.k2opsRows > 0)
  log(`candles identical: ${result.candlesIdentical ? 'yes' : 'no'} (${Object.entries(tables).map(([tf, t]) => `${tf} ${t.k2opsRows}`).join(', ')})`)
}

// ------------------------------------------------------------------------------------------------
// 6. start-up: k2ops --help vs node -e 0

async function startup() {
  const help = []
  const bare = []
  for (let i = 0; i < 10; i++) {
    const h = await runProcess(process.execPath, [RUN_JS, '--help'], {env: childEnv, cwd: ROOT})
    if (h.code !== 0) throw new Error(`k2ops --help exited ${h.code}`)
    help.push(h.ms)
    bare.push((await runProcess(process.execPath, ['-e', '0'], {env: childEnv, cwd: ROOT})).ms)
  }
  result.startup = {helpMedianSeconds: +(median(help) / 1000).toFixed(3), nodeMedianSeconds: +(median(bare) / 1000).toFixed(3)}
  result.startup.ratio = +(median(help) / median(bare)).toFixed(2)
  log(`start-up: --help ${result.startup.helpMedianSeconds} s, node -e 0 ${result.startup.nodeMedianSeconds} s, ${result.startup.ratio}×`)
}

// ------------------------------------------------------------------------------------------------
// Report

function mib(bytes) {
  return bytes === undefined ? 'n/a' : `${(bytes / 1024 ** 2).toFixed(0)} MiB`
}

function secs(value) {
  return value === undefined ? 'n/a' : `${value.toFixed(2)} s`
}

function summarize() {
  const rows = []
  const row = (measure, value, target = '', pass = undefined) => rows.push({measure, value, target, result: target === '' ? '' : pass === undefined ? 'n/a' : pass ? 'PASS' : 'MISS'})
  const g = result.generate
  row('trades (synthetic, 6 markets)', g ? `${g.rows.toLocaleString('en-US')} over ${options.days} d` : 'n/a')
  row('generate → Parquet', g ? `${secs(g.seconds)} (${g.files} file${g.files === 1 ? '' : 's'}, ${mib(g.parquetBytes)})` : 'n/a')
  const i = result.ingest
  row(options.directLoad ? 'load (direct DuckDB, --direct-load)' : 'k2ops ingest --format k2', i ? `${secs(i.seconds)}, ${Math.round(i.rowsPerSecond).toLocaleString('en-US')} rows/s` : 'n/a')
  if (i?.peakRssBytes) row('  ingest peak RSS', mib(i.peakRssBytes))
  const f = result.floor
  row('floor (5 × INSERT…SELECT, 1 tx)', f ? `${secs(f.seconds)} (tx ${f.transactionSeconds.toFixed(2)} + checkpoint ${f.checkpointSeconds.toFixed(2)})` : 'n/a')
  const b = result.backfill
  row('k2ops backfill --timeframe all', b ? `${secs(b.seconds)} (in-command ${secs(b.commandDurationSeconds)}, ${b.days} days)` : 'n/a')
  row('  backfill / floor', b ? `${b.ratioToFloor.toFixed(2)}×` : 'n/a', `≤ ${TARGETS.backfillRatio}×`, b ? b.ratioToFloor <= TARGETS.backfillRatio : undefined)
  if (b?.cpuRatioToFloor !== undefined) row('  (CPU time: backfill / floor)', `${b.cpuSeconds.toFixed(1)} / ${f.cpuSeconds.toFixed(1)} s = ${b.cpuRatioToFloor.toFixed(2)}×`)
  row('  backfill peak RSS', b ? mib(b.peakRssBytes) : 'n/a', '≤ 1536 MiB', b?.peakRssBytes === undefined ? undefined : b.peakRssBytes <= TARGETS.backfillRssBytes)
  const t = result.trigger
  row('k2ops trigger 1m (median of 5)', t ? secs(t.medianSeconds) : 'n/a', `≤ ${TARGETS.triggerMs / 1000} s`, t ? t.medianSeconds * 1000 <= TARGETS.triggerMs : undefined)
  const h = result.healthDaily
  row('k2ops health daily (median of 3)', h ? `${secs(h.medianSeconds)} (status ${h.status})` : 'n/a', `≤ ${TARGETS.healthMs / 1000} s`, h ? h.medianSeconds * 1000 <= TARGETS.healthMs : undefined)
  const s = result.startup
  row('k2ops --help (median of 10)', s ? secs(s.helpMedianSeconds) : 'n/a')
  row('node -e 0 (median of 10)', s ? secs(s.nodeMedianSeconds) : 'n/a')
  row('  start-up ratio', s ? `${s.ratio.toFixed(2)}×` : 'n/a', `≤ ${TARGETS.startupRatio}×`, s ? s.ratio <= TARGETS.startupRatio : undefined)
  row('candles identical (floor vs k2ops)', result.candlesIdentical === undefined ? 'n/a' : result.candlesIdentical ? 'yes' : 'no', 'yes', result.candlesIdentical)
  row('whole benchmark', `${result.totalSeconds.toFixed(0)} s`)
  return rows
}

function renderTable() {
  const rows = result.summary
  const header = {measure: 'measure', value: 'value', target: 'target', result: 'result'}
  const widths = Object.fromEntries(Object.keys(header).map((k) => [k, Math.max(...[header, ...rows].map((r) => String(r[k]).length))]))
  const line = (r) => Object.keys(header).map((k) => String(r[k]).padEnd(widths[k])).join('  ').trimEnd()
  const m = result.machine
  const out = [
    `k2ops backfill benchmark — ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}`,
    `DuckDB memory_limit ${result.duckdb.effectiveMemoryLimit ?? memoryLimit}, threads ${result.duckdb.effectiveThreads ?? result.duckdb.threads}; peak RSS via ${result.rssMethod}`,
    `data ${result.options.from} → ${result.options.to}, K2OPS_NOW ${result.options.now}`,
    '',
    line(header),
    Object.keys(header).map((k) => '-'.repeat(widths[k])).join('  '),
    ...rows.map(line),
  ]
  if (result.candles) out.push('', `candles identical: ${result.candlesIdentical ? 'yes' : 'no'}  (${Object.entries(result.candles).map(([tf, t]) => `${tf}: ${t.k2opsRows} rows, ${t.differing} differ`).join('; ')})`)
  const busy = [['ingest', result.ingest], ['floor', result.floor], ['backfill', result.backfill]].filter(([, r]) => r?.contention && r.contention.otherCoresAverage + r.contention.stealSeconds / Math.max(1, r.seconds) > 0.2)
  if (busy.length > 0) {
    out.push('', `warning: the machine was not quiet: other processes used ${busy.map(([name, r]) => `${r.contention.otherCoresAverage} cores (steal ${r.contention.stealSeconds} s) during ${name}`).join(', ')}; timings and ratios are less reliable — compare the CPU-time ratio`)
  }
  if (result.error) out.push('', `error: ${result.error}`)
  out.push('', `numbers also in ${join('bench', 'out', 'last-run.json')}${options.keep ? `; work dir kept: ${workDir}` : ''}`)
  return out.join('\n')
}
