#!/usr/bin/env node
// k2ops on Spark: ingest, backfill against a spark-sql floor, trigger latency, and the same backfill
// on DuckDB, on the same synthetic trades. Run with `npm run bench:spark` (builds first) or
// `node bench/spark.mjs` after a build and `npm run spark:setup`. See bench/README.md.
//
//   node bench/spark.mjs [--trades N] [--days D] [--no-cold-backfill] [--no-maintain] [--no-duckdb] [--keep] [--json]
import {existsSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, cpus, loadavg, totalmem} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {contention, machineCpu, median, runProcess} from './measure.mjs'
import {copyTree, driversCpuSeconds, json, loadHome, readStatementLog, sparkSqlCommand, sparkSqlStatementSeconds, stopHomeDrivers, summarizeStatementLog, withoutStdout, writeSyntheticTape} from './spark-lib.mjs'
import {renderSparkTable} from './spark-report.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const RUN_JS = join(ROOT, 'bin', 'run.js')
const DAY_US = 86_400_000_000
const START_US = Date.UTC(2024, 7, 1) * 1000 // 2024-08-01T00:00:00Z, as bench/backfill.mjs

const {values: flags} = parseArgs({
  options: {
    trades: {type: 'string'},
    days: {type: 'string'},
    'no-cold-backfill': {type: 'boolean'},
    'no-maintain': {type: 'boolean'},
    'no-duckdb': {type: 'boolean'},
    keep: {type: 'boolean'},
    json: {type: 'boolean'},
    help: {type: 'boolean', short: 'h'},
  },
  strict: true,
})
if (flags.help) {
  process.stdout.write(`usage: node bench/spark.mjs [--trades N] [--days D] [--no-cold-backfill] [--no-maintain] [--no-duckdb] [--keep] [--json]
  --trades N          synthetic trades (default 5000000; env BENCH_TRADES)
  --days D            days they span, from 2024-08-01 (default 7; env BENCH_DAYS)
  --no-cold-backfill  skip the second backfill with the driver stopped first
  --no-maintain       skip k2ops maintain (after the backfill and triggers, on both homes)
  --no-duckdb         skip the same backfill on a DuckDB home
  --keep              keep the work directory under bench/out/ (env BENCH_KEEP=1)
  --json              print one JSON document instead of the table (env BENCH_JSON=1)
`)
  process.exit(0)
}

const envFlag = (name) => ['1', 'true', 'yes'].includes(String(process.env[name] ?? '').toLowerCase())
const positiveInt = (text, where) => {
  const value = Number(text)
  if (!Number.isInteger(value) || value <= 0) fail(`${where}: '${text}' is not a positive whole number`)
  return value
}

const options = {
  trades: positiveInt(flags.trades ?? process.env.BENCH_TRADES ?? '5000000', '--trades'),
  days: positiveInt(flags.days ?? process.env.BENCH_DAYS ?? '7', '--days'),
  coldBackfill: !flags['no-cold-backfill'],
  maintain: !flags['no-maintain'],
  duckdb: !flags['no-duckdb'],
  keep: Boolean(flags.keep) || envFlag('BENCH_KEEP'),
  json: Boolean(flags.json) || envFlag('BENCH_JSON'),
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`)
  process.exit(2)
}

const benchStarted = performance.now()
const log = (line) => process.stderr.write(`[bench ${((performance.now() - benchStarted) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)

for (const file of ['dist/commands/backfill/index.js', 'dist/commands/ingest.js', 'dist/pipeline/engine/spark/statement-log.js']) {
  if (!existsSync(join(ROOT, file))) fail(`${file} is missing: run \`npm run build\` first (or \`npm run bench:spark\`)`)
}

// ------------------------------------------------------------------------------------------------
// The run

const endUs = START_US + options.days * DAY_US
const nowUs = endUs + 3_600_000_000 // an hour after the last trade: every window (1d too) has closed
const iso = (us) => new Date(us / 1000).toISOString().replace('.000Z', 'Z')
// Short: the driver's Unix socket lives under the home, and its path may hold at most 107 bytes.
const workDir = join(ROOT, 'bench', 'out', `spark-${process.pid}`)
const sparkHomeDir = join(workDir, 'spark')
const duckHomeDir = join(workDir, 'duckdb')
const tape = join(workDir, 'trades.parquet')
const afterIngest = join(workDir, 'iceberg-after-ingest')
const backfillLog = join(workDir, 'backfill.sql')
const childEnv = {...process.env, K2OPS_NOW: iso(nowUs), NO_COLOR: '1', K2OPS_LOCK_TIMEOUT: '60'}
for (const name of ['K2OPS_HOME', 'K2OPS_WAREHOUSE', 'K2OPS_ENGINE', 'K2OPS_SPARK_SQL_LOG', 'DEBUG']) delete childEnv[name]
const backfillArgs = (home) => ['backfill', '--timeframe', 'all', '--from', iso(START_US), '--to', iso(endUs), '--home', home, '--json']

const result = {
  version: 1,
  startedAt: new Date().toISOString(),
  machine: {cores: availableParallelism(), cpu: cpus()[0]?.model?.trim(), memoryGiB: +(totalmem() / 1024 ** 3).toFixed(1), node: process.version, loadAverageAtStart: loadavg().map((x) => +x.toFixed(2))},
  options: {trades: options.trades, days: options.days, from: iso(START_US), to: iso(endUs), now: iso(nowUs)},
}

let exitCode = 0
result.ratios = {}
rmSync(workDir, {recursive: true, force: true})
mkdirSync(sparkHomeDir, {recursive: true, mode: 0o700})
mkdirSync(duckHomeDir, {recursive: true, mode: 0o700})
writeFileSync(join(sparkHomeDir, 'config.json'), JSON.stringify({engine: 'spark'}) + '\n', {mode: 0o600})
try {
  await generate()
  const home = await loadHome(sparkHomeDir, childEnv)
  result.spark = {master: home.spark.master, catalog: `${home.spark.catalog.type} (${home.spark.catalog.warehouse})`}
  await ingestSpark()
  await backfillWarm()
  await triggers()
  result.sparkChecks = await checks(sparkHomeDir)
  if (options.maintain) result.sparkMaintain = await maintain(sparkHomeDir)
  if (options.coldBackfill) await backfillCold()
  await floor(home)
  if (options.duckdb) await duckdb()
} catch (error) {
  exitCode = 1
  result.error = error.message
  process.stderr.write(`bench: ${error.message}\n`)
} finally {
  await stopHomeDrivers(sparkHomeDir, childEnv).catch(() => 0)
  result.loadAverageAtEnd = loadavg().map((x) => +x.toFixed(2))
  result.totalSeconds = +((performance.now() - benchStarted) / 1000).toFixed(1)
  if (options.keep) result.workDir = workDir
  else rmSync(workDir, {recursive: true, force: true})
}

writeFileSync(join(ROOT, 'bench', 'out', 'spark-last-run.json'), JSON.stringify(result, null, 2) + '\n')
process.stdout.write(options.json ? JSON.stringify(result, null, 2) + '\n' : renderSparkTable(result) + '\n')
process.exit(exitCode)

// ------------------------------------------------------------------------------------------------
// Steps

async function generate() {
  log(`generating ${options.trades} trades over ${options.days} days → ${tape}`)
  const started = performance.now()
  const tapeInfo = await writeSyntheticTape(tape, {trades: options.trades, fromUs: START_US, toUs: endUs, scratchDir: join(workDir, 'gen.tmp')})
  result.generate = {...tapeInfo, seconds: +((performance.now() - started) / 1000).toFixed(2)}
  log(`generated ${tapeInfo.rows} trades (${(tapeInfo.bytes / 1024 ** 2).toFixed(0)} MiB) in ${result.generate.seconds} s`)
}

/**
 * One k2ops command as a whole process (node start included), with the CPU time of the home's
 * Spark drivers over the same span (the work happens there) and what other processes took.
 */
async function k2ops(args, {env = {}, homeDir = sparkHomeDir, okCodes = [0]} = {}) {
  const before = machineCpu()
  const driverBefore = driversCpuSeconds(homeDir)
  const run = await runProcess(process.execPath, [RUN_JS, ...args], {env: {...childEnv, ...env}, cwd: ROOT, rss: 'time'})
  const driverCpu = +Math.max(0, driversCpuSeconds(homeDir) - driverBefore).toFixed(2)
  const ownCpu = run.cpuSeconds === undefined ? undefined : run.cpuSeconds + driverCpu
  const measured = {seconds: +(run.ms / 1000).toFixed(3), cpuSeconds: run.cpuSeconds, driverCpuSeconds: driverCpu, contention: contention(before, machineCpu(), ownCpu, run.ms / 1000)}
  if (!okCodes.includes(run.code)) {
    const why = (run.stderr.trim() || run.stdout.trim()).split('\n').slice(-3).join(' | ')
    throw new Error(`k2ops ${args.slice(0, 2).join(' ')} exited ${run.code} after ${measured.seconds} s: ${why}`)
  }

  return {...measured, stdout: run.stdout}
}

async function ingestSpark() {
  log('k2ops init on the Spark home (starts the driver: a cold start)')
  const init = withoutStdout(await k2ops(['init', '--home', sparkHomeDir, '--json']))
  result.sparkInit = init
  log(`init ${init.seconds} s; k2ops ingest --format k2 (warm driver)`)
  const run = await k2ops(['ingest', tape, '--format', 'k2', '--home', sparkHomeDir, '--json'])
  const output = json(run.stdout, 'ingest')
  const inserted = (Array.isArray(output.files) ? output.files : [output]).reduce((n, f) => n + (f.inserted ?? 0), 0) || output.inserted
  result.sparkIngest = {...withoutStdout(run), tradesPerSecond: Math.round(result.generate.rows / run.seconds), inserted}
  log(`ingest ${run.seconds} s (${result.sparkIngest.tradesPerSecond} trades/s, ${inserted} inserted)`)
  copyTree(join(sparkHomeDir, 'iceberg'), afterIngest)
}

function backfillOutput(run, logFile) {
  const output = json(run.stdout, 'backfill')
  const statementLog = logFile ? summarizeStatementLog(readStatementLog(logFile)) : undefined
  return {...withoutStdout(run), commandDurationSeconds: output.durationMs === undefined ? undefined : +(output.durationMs / 1000).toFixed(3), days: output.days, candles: output.candles, trades: output.trades, statementLog}
}

async function backfillWarm() {
  log('k2ops backfill --timeframe all on Spark (driver warm: started by init, used by ingest), statement log on')
  const run = await k2ops(backfillArgs(sparkHomeDir), {env: {K2OPS_SPARK_SQL_LOG: backfillLog}})
  result.sparkBackfillWarm = backfillOutput(run, backfillLog)
  const s = result.sparkBackfillWarm.statementLog
  log(`backfill (warm) ${run.seconds} s: ${s.requests} requests, ${s.statements} statements, ${s.roundTripSeconds} s in round trips (${s.driverSeconds} s in the driver)`)
}

async function triggers() {
  const times = []
  for (let i = 0; i < 5; i++) times.push((await k2ops(['trigger', '1m', '--home', sparkHomeDir, '--json'], {env: {K2OPS_SPARK_SQL_LOG: join(workDir, 'trigger.sql')}})).seconds)
  const s = summarizeStatementLog(readStatementLog(join(workDir, 'trigger.sql')))
  result.sparkTriggerWarm = {medianSeconds: median(times), runsSeconds: times, requestsPerRun: s.requests / 5, roundTripSecondsPerRun: +(s.roundTripSeconds / 5).toFixed(2)}
  log(`trigger 1m (warm) median ${result.sparkTriggerWarm.medianSeconds} s (${times.join(', ')})`)
  await stopHomeDrivers(sparkHomeDir, childEnv)
  result.sparkTriggerCold = withoutStdout(await k2ops(['trigger', '1m', '--home', sparkHomeDir, '--json']))
  log(`trigger 1m (cold: driver stopped first) ${result.sparkTriggerCold.seconds} s`)
}

/**
 * `k2ops validate --timeframe all` (its 7-day lookback covers the data) and `k2ops health daily`, as
 * whole processes, on what the backfill wrote; on Spark health daily once more with the driver
 * stopped first (cron's case). Both exit 1 here: the feed is an hour old (source_lag fails).
 */
async function checks(homeDir) {
  const engine = homeDir === sparkHomeDir ? 'Spark' : 'DuckDB'
  const timed = async (args) => {
    const run = await k2ops([...args, '--home', homeDir, '--json'], {homeDir, okCodes: [0, 1]})
    const checks = json(run.stdout, args.join(' ')).checks ?? []
    return {...withoutStdout(run), checks: checks.length, checked: checks.reduce((n, check) => n + (check.checked ?? 0), 0)}
  }
  const measured = {validate: await timed(['validate', '--timeframe', 'all']), healthDaily: await timed(['health', 'daily'])}
  if (engine === 'Spark') {
    await stopHomeDrivers(homeDir, childEnv)
    measured.healthDailyCold = await timed(['health', 'daily'])
  }
  log(`${engine}: validate ${measured.validate.seconds} s (${measured.validate.checks} checks), health daily ${measured.healthDaily.seconds} s${measured.healthDailyCold ? `, cold ${measured.healthDailyCold.seconds} s` : ''}`)
  return measured
}

/**
 * `k2ops maintain --dry-run`, then `k2ops maintain`, as whole processes, on the tables the backfill
 * and the triggers wrote; with the storage summed over the tables before and after.
 */
async function maintain(homeDir) {
  const dry = await k2ops(['maintain', '--dry-run', '--home', homeDir, '--json'], {homeDir})
  const run = await k2ops(['maintain', '--home', homeDir, '--json'], {homeDir})
  const tables = json(run.stdout, 'maintain').tables
  const sum = (side, key) => tables.reduce((n, table) => n + (table[side]?.[key] ?? 0), 0)
  const storage = (side) => ({snapshots: sum(side, 'snapshots'), dataFiles: sum(side, 'dataFiles'), storedFiles: sum(side, 'storedFiles'), storedBytes: sum(side, 'storedBytes')})
  const measured = {dryRun: withoutStdout(dry), ...withoutStdout(run), tables: tables.length, before: storage('before'), after: storage('after')}
  log(`maintain (${homeDir === sparkHomeDir ? 'Spark' : 'DuckDB'}): dry run ${dry.seconds} s, run ${run.seconds} s; snapshots ${measured.before.snapshots} → ${measured.after.snapshots}, stored files ${measured.before.storedFiles} → ${measured.after.storedFiles}`)
  return measured
}

async function backfillCold() {
  await stopHomeDrivers(sparkHomeDir, childEnv)
  copyTree(afterIngest, join(sparkHomeDir, 'iceberg'))
  log('k2ops backfill --timeframe all on Spark (cold: driver stopped first, tables restored to their state after ingest)')
  result.sparkBackfillCold = backfillOutput(await k2ops(backfillArgs(sparkHomeDir)))
  log(`backfill (cold) ${result.sparkBackfillCold.seconds} s`)
}

/** The floor: the backfill's own statements, replayed by spark-sql (one JVM, started for it) on the tables as they were before it. */
async function floor(home) {
  await stopHomeDrivers(sparkHomeDir, childEnv)
  copyTree(afterIngest, join(sparkHomeDir, 'iceberg'))
  const cwd = join(workDir, 'spark-sql') // its Derby metastore and spark-warehouse land here
  mkdirSync(cwd, {recursive: true})
  const {command, args, env} = await sparkSqlCommand(home, backfillLog, childEnv)
  log(`floor: ${command.split('/').slice(-2).join('/')} -f backfill.sql (same --master, --jars, --conf as the driver)`)
  const before = machineCpu()
  const run = await runProcess(command, args, {env, cwd, rss: 'time'})
  writeFileSync(join(workDir, 'floor.stderr'), run.stderr) // spark-sql's own log and its "Time taken" lines, kept with --keep
  if (run.code !== 0) throw new Error(`spark-sql exited ${run.code} after ${(run.ms / 1000).toFixed(1)} s: ${run.stderr.trim().split('\n').filter((l) => /Error|Exception/.test(l)).slice(0, 2).join(' | ')}`)
  const statements = sparkSqlStatementSeconds(run.stderr, readStatementLog(backfillLog).flatMap((request) => request.statements))
  const seconds = run.ms / 1000
  result.floor = {
    definition: 'spark-sql -f <the statements the warm backfill sent, from K2OPS_SPARK_SQL_LOG>, same --master/--jars/--conf, on a byte copy of the catalog as it was after ingest; whole process, JVM start included',
    seconds: +seconds.toFixed(3),
    statementSeconds: statements.seconds,
    startAndOverheadSeconds: +(seconds - statements.seconds).toFixed(3),
    statements: statements.statements,
    statementSecondsByKind: statements.byKind,
    cpuSeconds: run.cpuSeconds,
    peakRssBytes: run.peakRssKb ? run.peakRssKb * 1024 : undefined,
    contention: contention(before, machineCpu(), run.cpuSeconds, seconds),
  }
  const warm = result.sparkBackfillWarm
  Object.assign(result.ratios, {warmBackfillToFloor: +(warm.seconds / seconds).toFixed(3), warmBackfillToFloorStatements: +(warm.seconds / statements.seconds).toFixed(3)})
  // CPU time is less sensitive to other load: k2ops' node process plus its driver's, against spark-sql's whole tree.
  if (warm.cpuSeconds !== undefined && run.cpuSeconds) result.ratios.warmBackfillToFloorCpu = +((warm.cpuSeconds + warm.driverCpuSeconds) / run.cpuSeconds).toFixed(3)
  if (result.sparkBackfillCold) result.ratios.coldBackfillToFloor = +(result.sparkBackfillCold.seconds / seconds).toFixed(3)
  log(`floor ${seconds.toFixed(2)} s (${statements.statements} statements: ${statements.seconds} s; JVM start and the rest ${result.floor.startAndOverheadSeconds} s) → k2ops/floor ${result.ratios.warmBackfillToFloor}×`)
}

async function duckdb() {
  log('DuckDB home: k2ops init, ingest, backfill (whole processes)')
  await k2ops(['init', '--home', duckHomeDir, '--json'], {homeDir: duckHomeDir})
  const ingest = await k2ops(['ingest', tape, '--format', 'k2', '--home', duckHomeDir, '--json'], {homeDir: duckHomeDir})
  result.duckdbIngest = {...withoutStdout(ingest), tradesPerSecond: Math.round(result.generate.rows / ingest.seconds)}
  result.duckdbBackfill = backfillOutput(await k2ops(backfillArgs(duckHomeDir), {homeDir: duckHomeDir}))
  result.duckdbChecks = await checks(duckHomeDir)
  if (options.maintain) result.duckdbMaintain = await maintain(duckHomeDir)
  result.ratios.sparkWarmToDuckdb = +(result.sparkBackfillWarm.seconds / result.duckdbBackfill.seconds).toFixed(2)
  result.candlesAgree = result.duckdbBackfill.candles === result.sparkBackfillWarm.candles && result.duckdbBackfill.trades === result.sparkBackfillWarm.trades
  log(`DuckDB backfill ${result.duckdbBackfill.seconds} s → Spark/DuckDB ${result.ratios.sparkWarmToDuckdb}×; candle counts agree: ${result.candlesAgree}`)
}
