// Helpers of the Spark benchmark (bench/spark.mjs): the synthetic tape, a driver's CPU time, the
// catalog's backup and restore, the spark-sql floor's command line, and the statement log's summary.
import {cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = (file) => import(join(ROOT, 'dist', file))

/** N synthetic trades of the demo markets over [fromUs, toUs) → one K2-contract Parquet file (seed 42, as bench/backfill.mjs). */
export async function writeSyntheticTape(file, {trades, fromUs, toUs, scratchDir}) {
  const {DuckDBInstance} = await import('@duckdb/node-api')
  const {DEMO_MARKETS, syntheticTradesSql} = await dist('pipeline/engine/duckdb/synthetic-trades.js')
  const instance = await DuckDBInstance.create(':memory:', {temp_directory: scratchDir})
  const connection = await instance.connect()
  try {
    const sql = syntheticTradesSql({markets: DEMO_MARKETS, trades, fromMicros: fromUs, toMicros: toUs, seed: 42})
    await connection.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`)
    const reader = await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet('${file}')`)
    return {rows: Number(reader.getRowObjects()[0].n), markets: DEMO_MARKETS.length, bytes: statSync(file).size}
  } finally {
    connection.closeSync()
    instance.closeSync()
    rmSync(scratchDir, {recursive: true, force: true})
  }
}

/** The resolved home, as k2ops sees it (engine, Spark settings, catalog). */
export async function loadHome(dir, env) {
  const {resolveHome} = await dist('pipeline/home.js')
  return resolveHome({home: dir, defaultDir: dir, env})
}

/** Stops the home's drivers (all its targets' launch settings); how many were running. */
export async function stopHomeDrivers(dir, env) {
  const {stopDrivers} = await dist('pipeline/engine/spark/session.js')
  return stopDrivers(await loadHome(dir, env))
}

/** The pids of the home's running drivers (process-group leaders), from their notes. */
export function driverPids(dir) {
  const state = join(dir, 'state', 'spark')
  if (!existsSync(state)) return []
  const pids = []
  for (const name of readdirSync(state).filter((entry) => entry.endsWith('.json'))) {
    try {
      const pid = JSON.parse(readFileSync(join(state, name), 'utf8')).pid
      if (Number.isSafeInteger(pid) && existsSync(`/proc/${pid}`)) pids.push(pid)
    } catch {
      // A note being written or removed: no driver to count.
    }
  }

  return pids
}

/** CPU seconds (user + system) so far of every live process in the groups of the home's drivers (the JVM and its Python). */
export function driversCpuSeconds(dir) {
  const groups = new Set(driverPids(dir))
  if (groups.size === 0) return 0
  let ticks = 0
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (groups.has(Number(fields[2]))) ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // Gone meanwhile.
    }
  }

  return ticks / 100 // USER_HZ
}

/** Replaces `to` with a byte copy of `from` (a catalog's warehouse directory: its metadata names absolute paths, so it is restored in place). */
export function copyTree(from, to) {
  rmSync(to, {recursive: true, force: true})
  cpSync(from, to, {recursive: true, preserveTimestamps: true})
}

/**
 * spark-sql's command line for `sqlFile`: the same --master, --jars and --conf as the home's
 * driver (driver-launch.ts submitArgs), with -f instead of the driver script.
 */
export async function sparkSqlCommand(home, sqlFile, env) {
  const {sparkConf} = await dist('pipeline/engine/spark/driver-launch.js')
  const {checkSparkInstall} = await dist('pipeline/engine/spark/install.js')
  const install = checkSparkInstall(home.spark, env)
  const args = ['--master', home.spark.master]
  if (install.jars.length > 0) args.push('--jars', install.jars.join(','))
  for (const [key, value] of Object.entries(sparkConf(home.spark))) args.push('--conf', `${key}=${value}`)
  args.push('-f', sqlFile)
  return {command: join(install.sparkHome, 'bin', 'spark-sql'), args, env: {...env, SPARK_HOME: install.sparkHome, TZ: 'UTC'}}
}

/**
 * spark-sql's "Time taken: X seconds" lines (one per statement, in order, on stderr): the
 * statements' own time, without the JVM's start; per kind of statement when every one has its line.
 */
export function sparkSqlStatementSeconds(stderr, statements) {
  const times = [...stderr.matchAll(/Time taken: ([\d.]+) seconds/g)].map((m) => Number(m[1]))
  const byKind = {}
  if (times.length === statements.length) {
    for (const [index, statement] of statements.entries()) {
      const kind = (byKind[statementKind(statement)] ??= {statements: 0, seconds: 0})
      kind.statements++
      kind.seconds = +(kind.seconds + times[index]).toFixed(3)
    }
  }

  return {statements: times.length, seconds: +times.reduce((a, b) => a + b, 0).toFixed(3), byKind}
}

/** One statement's kind, for the floor's time per kind. */
export function statementKind(statement) {
  if (/^CACHE TABLE k2_replace_source/.test(statement)) return 'CACHE TABLE source (new candles + tombstones)'
  if (/^CACHE TABLE k2_late_windows/.test(statement)) return 'CACHE TABLE late windows'
  if (/^MERGE INTO \S*gold_ohlcv_/.test(statement)) return 'MERGE INTO candles'
  if (/^MERGE INTO /.test(statement)) return 'MERGE INTO marks'
  if (/^(UNCACHE TABLE|DROP VIEW)/.test(statement)) return 'UNCACHE / DROP VIEW'
  if (/FROM k2_replace_source GROUP BY part/.test(statement)) return 'SELECT counts of the source'
  return 'other reads (span, snapshot, marks, SHOW TABLES)'
}

/** The requests of a statement log (K2OPS_SPARK_SQL_LOG): their comment line's timings and their statements. */
export function readStatementLog(file) {
  if (!existsSync(file)) return []
  const requests = []
  for (const block of readFileSync(file, 'utf8').split(/^(?=-- k2ops pid )/m).filter((b) => b.trim())) {
    const head = /^-- k2ops pid (\d+) request at (\S+): (\d+) statement\(s\), (ok|failed[^\n]*?)(?:, driver (\d+) ms)?, round trip (\d+) ms$/m.exec(block)
    if (!head) continue
    const body = block.slice(block.indexOf('\n') + 1)
    const statements = body.split(/;\n/).map((s) => s.trim()).filter(Boolean)
    requests.push({pid: Number(head[1]), at: head[2], ok: head[4] === 'ok', driverMs: head[5] === undefined ? undefined : Number(head[5]), roundTripMs: Number(head[6]), statements})
  }

  return requests
}

/** What a request did, by its main statement (the names are k2ops' own: spark/replace-sql.ts, spark-engine.ts). */
export function requestKind(statements) {
  const text = statements.join('\n')
  if (/CACHE TABLE k2_replace_source/.test(text)) return 'compute candles (CACHE source + counts)'
  if (/MERGE INTO \S*gold_ohlcv_/.test(text)) return 'MERGE candles (+ drop views, mark)'
  if (/MERGE INTO \S*(watermarks|marks)/i.test(text)) return 'MERGE marks'
  if (/\.history\b/.test(text)) return 'snapshot id (history)'
  if (/INSERT INTO \S*gold_crypto_trades/.test(text)) return 'ingest append'
  return 'other reads'
}

/** Requests and their time per kind: count, driver ms, round-trip ms. */
export function summarizeStatementLog(requests) {
  const kinds = {}
  for (const request of requests) {
    const kind = (kinds[requestKind(request.statements)] ??= {requests: 0, statements: 0, driverSeconds: 0, roundTripSeconds: 0})
    kind.requests++
    kind.statements += request.statements.length
    kind.driverSeconds += (request.driverMs ?? 0) / 1000
    kind.roundTripSeconds += request.roundTripMs / 1000
  }

  for (const kind of Object.values(kinds)) {
    kind.driverSeconds = +kind.driverSeconds.toFixed(2)
    kind.roundTripSeconds = +kind.roundTripSeconds.toFixed(2)
  }

  const total = (key) => +requests.reduce((sum, r) => sum + (r[key] ?? 0) / 1000, 0).toFixed(2)
  return {requests: requests.length, statements: requests.reduce((n, r) => n + r.statements.length, 0), driverSeconds: total('driverMs'), roundTripSeconds: total('roundTripMs'), kinds}
}

/** A command's --json output, or an error naming the command. */
export function json(text, what) {
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`${what}: --json output is not JSON: ${text.slice(0, 200)}`)
  }
}

/** A measured run without the output it was read from. */
export function withoutStdout({stdout: _, ...rest}) {
  return rest
}
