#!/usr/bin/env node
// Where does `k2ops backfill` spend its time? Runs the backfill's own pipeline code in-process
// (planBackfill → backfillChunk per day → settleBackfillWatermarks, as the command does) on a COPY
// of a warehouse, timing every SQL statement; then one `trigger 1m` flow run, statement by
// statement; and, for comparison, the floor statements on another copy.
//
//   node bench/profile-backfill.mjs WAREHOUSE.duckdb --from ISO --to ISO --now ISO [--explain]
//
// WAREHOUSE is typically <work dir>/home/warehouse.duckdb of `node bench/backfill.mjs --keep`
// (the backfilled one is fine: candles are replaced). It is never modified.
// --explain adds EXPLAIN ANALYZE of one day's 1m recompute and of the floor's 1m statement.
import {copyFileSync, existsSync, mkdtempSync, rmSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const {values: flags, positionals} = parseArgs({
  allowPositionals: true,
  options: {from: {type: 'string'}, to: {type: 'string'}, now: {type: 'string'}, explain: {type: 'boolean'}, 'skip-floor': {type: 'boolean'}, 'skip-backfill': {type: 'boolean'}},
})
if (positionals.length !== 1 || !flags.from || !flags.to || !flags.now) {
  process.stderr.write('usage: node bench/profile-backfill.mjs WAREHOUSE.duckdb --from ISO --to ISO --now ISO [--explain] [--skip-floor] [--skip-backfill]\n')
  process.exit(2)
}

const {Warehouse} = await import(join(ROOT, 'dist/pipeline/engine/duckdb/warehouse.js'))
const {DuckdbEngine} = await import(join(ROOT, 'dist/pipeline/engine/duckdb/duckdb-engine.js'))
const {planBackfill, backfillChunk, settleBackfillWatermarks} = await import(join(ROOT, 'dist/pipeline/backfill.js'))
const {runFlowWindows} = await import(join(ROOT, 'dist/pipeline/flow-run.js'))
const {candleSelectSql} = await import(join(ROOT, 'dist/pipeline/engine/duckdb/candle-sql.js'))
const {TIMEFRAMES, TIMEFRAME_SPECS} = await import(join(ROOT, 'dist/pipeline/timeframes.js'))
const {floorStatements} = await import('./floor.mjs')

const iso = (text) => Date.parse(text) * 1000
const from = iso(flags.from)
const to = iso(flags.to)
const now = iso(flags.now)
const tmp = mkdtempSync(join(ROOT, 'bench', 'out', 'profile-'))
const source = resolve(positionals[0])

function copy(name) {
  const target = join(tmp, name)
  copyFileSync(source, target)
  if (existsSync(source + '.wal')) copyFileSync(source + '.wal', target + '.wal')
  return target
}

// Every statement the pipeline sends, with its time.
const log = []
let context = ''
for (const method of ['run', 'all']) {
  const original = Warehouse.prototype[method]
  Warehouse.prototype[method] = async function (sql, params) {
    const started = performance.now()
    const cpu = process.cpuUsage()
    try {
      return await original.call(this, sql, params)
    } finally {
      const used = process.cpuUsage(cpu)
      log.push({context, kind: statementKind(sql), ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000})
    }
  }
}

function statementKind(sql) {
  const s = sql.replace(/\s+/g, ' ').trim()
  if (/^CREATE OR REPLACE TEMP TABLE k2_new/.test(s)) return 'k2_new: candleSelectSql → temp table'
  if (/^CREATE OR REPLACE TEMP TABLE k2_previous/.test(s)) return 'k2_previous: stored candles of the range'
  if (/^SELECT \(SELECT count\(\*\) FROM k2_new\)/.test(s)) return 'counts (candles, trades, removed)'
  if (/^DELETE FROM market_data\.gold_ohlcv/.test(s)) return 'DELETE stored candles of the range'
  if (/^INSERT INTO market_data\.gold_ohlcv/.test(s)) return 'INSERT new candles'
  if (/^DROP TABLE/.test(s)) return 'DROP temp tables'
  if (/^(BEGIN|COMMIT|ROLLBACK)/.test(s)) return s.split(' ')[0]
  if (/AFFECTED|k2_affected_windows/i.test(s)) return 'late windows (k2_affected_windows)'
  if (/max\(ingestion_timestamp\)/.test(s)) return 'newestIngestion: max(ingestion_timestamp)'
  if (/min\(ingestion_timestamp\)/.test(s)) return 'advanceWatermark: first waiting trade'
  if (/flow_watermarks/.test(s)) return 'watermark read/write'
  return s.slice(0, 60)
}

function report(title, entries) {
  const total = entries.reduce((a, e) => a + e.ms, 0)
  const totalCpu = entries.reduce((a, e) => a + e.cpuMs, 0)
  const byKind = new Map()
  for (const e of entries) {
    const k = byKind.get(e.kind) ?? {ms: 0, cpuMs: 0, n: 0}
    k.ms += e.ms
    k.cpuMs += e.cpuMs
    k.n += 1
    byKind.set(e.kind, k)
  }
  console.log(`\n${title}: ${(total / 1000).toFixed(2)} s wall, ${(totalCpu / 1000).toFixed(2)} s CPU, in ${entries.length} statements`)
  for (const [kind, k] of [...byKind].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`  ${kind.padEnd(45)} ${(k.ms / 1000).toFixed(3).padStart(8)} s  ${(k.cpuMs / 1000).toFixed(3).padStart(8)} s CPU  ${String(k.n).padStart(4)}×  ${((100 * k.ms) / total).toFixed(1).padStart(5)}%`)
  }
  return total
}

async function time(fn) {
  const started = performance.now()
  const value = await fn()
  return {ms: performance.now() - started, value}
}

try {
  // ---- backfill, in-process, as the command runs it
  const warehousePath = copy('backfill.duckdb')
  const plan = planBackfill([...TIMEFRAMES], from, to, now, false)
  if (!flags['skip-backfill']) {
  const open = await time(() => Warehouse.open(warehousePath, {operation: 'profile', lockTimeoutMs: 1000}))
  const warehouse = open.value
  const settings = await warehouse.one(`SELECT current_setting('threads') AS threads, current_setting('memory_limit') AS memory_limit`)
  console.log(`DuckDB threads ${settings.threads}, memory_limit ${settings.memory_limit}; open ${open.ms.toFixed(0)} ms`)
  const perChunk = []
  const perTf = Object.fromEntries(TIMEFRAMES.map((tf) => [tf, 0]))
  const wall = await time(async () => {
    for (const chunk of plan.chunks) {
      const started = log.length
      const t = await time(async () => {
        // Same as backfillChunk, with the timeframe recorded per statement.
        const {recomputeWindows} = await import(join(ROOT, 'dist/pipeline/engine/duckdb/recompute.js'))
        await warehouse.transaction(async () => {
          for (const range of chunk.ranges) {
            context = range.timeframe
            const r = await time(() => recomputeWindows(warehouse, range.timeframe, {kind: 'range', fromMicros: range.fromMicros, toMicros: range.toMicros}, now))
            perTf[range.timeframe] += r.ms
          }
          context = 'tx'
        })
      })
      perChunk.push({day: new Date(chunk.fromMicros / 1000).toISOString().slice(0, 10), ms: t.ms, statements: log.length - started})
    }
    context = 'settle'
    await settleBackfillWatermarks(DuckdbEngine.over(warehouse), plan, now)
  })
  const closeT = await time(async () => warehouse.close())
  console.log(`\nbackfill in-process: ${(wall.ms / 1000).toFixed(2)} s + close/checkpoint ${(closeT.ms / 1000).toFixed(2)} s; ${plan.chunks.length} day chunks`)
  for (const c of perChunk) console.log(`  ${c.day}  ${(c.ms / 1000).toFixed(2)} s (${c.statements} statements)`)
  console.log('  per timeframe (all days): ' + TIMEFRAMES.map((tf) => `${tf} ${(perTf[tf] / 1000).toFixed(2)} s`).join(', '))
  report('backfill statements by kind', log.filter((e) => e.context !== 'trigger'))
  // Unused by the command but handy: the same backfillChunk, to check our copy is faithful.
  void backfillChunk
  }

  // ---- one trigger 1m run on the backfilled copy
  const trig = log.length
  context = 'trigger'
  const topen = await time(() => Warehouse.open(warehousePath, {operation: 'profile trigger', lockTimeoutMs: 1000}))
  const flow = await time(() => runFlowWindows(DuckdbEngine.over(topen.value), '1m', {nowMicros: now, lookbackMicros: TIMEFRAME_SPECS['1m'].lookbackMicros}))
  const tclose = await time(async () => topen.value.close())
  console.log(`\ntrigger 1m in-process: open ${topen.ms.toFixed(0)} ms, flow ${flow.ms.toFixed(0)} ms, close ${tclose.ms.toFixed(0)} ms`)
  report('trigger 1m statements by kind', log.slice(trig))

  // ---- the floor on another copy, statement by statement
  if (!flags['skip-floor']) {
    const {DuckDBInstance} = await import('@duckdb/node-api')
    const floorPath = copy('floor.duckdb')
    const instance = await DuckDBInstance.create(floorPath, {memory_limit: '1GB'})
    const c = await instance.connect()
    for (const tf of TIMEFRAMES) await c.run(`DELETE FROM ${TIMEFRAME_SPECS[tf].table}`)
    await c.run('CHECKPOINT')
    await c.run('BEGIN TRANSACTION')
    let total = 0
    const parts = []
    const cpu = process.cpuUsage()
    for (const s of floorStatements(now)) {
      const t = await time(() => c.run(s.sql))
      total += t.ms
      parts.push(`${s.tf} ${(t.ms / 1000).toFixed(2)} s`)
    }
    const used = process.cpuUsage(cpu)
    parts.push(`CPU ${((used.user + used.system) / 1e6).toFixed(2)} s`)
    const commit = await time(() => c.run('COMMIT'))
    const checkpoint = await time(() => c.run('CHECKPOINT'))
    console.log(`\nfloor: ${(total / 1000).toFixed(2)} s (${parts.join(', ')}), commit ${(commit.ms / 1000).toFixed(2)} s, checkpoint ${(checkpoint.ms / 1000).toFixed(2)} s`)

    if (flags.explain) {
      const day = plan.chunks[0]
      const explain = async (title, sql) => {
        const rows = (await c.runAndReadAll(`EXPLAIN ANALYZE ${sql}`)).getRows()
        const text = rows.map((r) => r[1]).join('\n')
        console.log(`\n---- ${title}\n` + text.split('\n').filter((l) => !l.startsWith('EXPLAIN ANALYZE')).join('\n'))
      }
      await explain(
        `one day's 1m recompute (k2_new of ${new Date(day.fromMicros / 1000).toISOString().slice(0, 10)})`,
        `CREATE OR REPLACE TEMP TABLE k2_new AS ${candleSelectSql('1m', {where: `t."timestamp" >= ${day.fromMicros}::BIGINT AND t."timestamp" < ${day.fromMicros + 86_400_000_000}::BIGINT`})}`,
      )
      await explain('the floor 1m statement (as CREATE TEMP TABLE)', `CREATE OR REPLACE TEMP TABLE floor_1m AS ${candleSelectSql('1m', {where: 'true'})}`)
    }
    c.closeSync()
    instance.closeSync()
  }
} finally {
  rmSync(tmp, {recursive: true, force: true})
}
