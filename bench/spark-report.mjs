// The table of bench/spark.mjs.

const TARGETS = {floorRatio: 1.3, triggerSeconds: 5}

const secs = (value) => (value === undefined ? 'n/a' : `${value.toFixed(2)} s`)
const count = (value) => (value === undefined ? 'n/a' : Math.round(value).toLocaleString('en-US'))
const cpu = (run) => (run?.cpuSeconds === undefined ? '' : ` (CPU: node ${run.cpuSeconds.toFixed(1)} s + driver ${run.driverCpuSeconds.toFixed(1)} s)`)

/** Rows of the table: measure, value, target, result. */
export function sparkSummary(result) {
  const rows = []
  const row = (measure, value, target = '', pass = undefined) => rows.push({measure, value, target, result: target === '' ? '' : pass === undefined ? 'n/a' : pass ? 'PASS' : 'MISS'})
  const g = result.generate
  row('trades (synthetic, 6 markets)', g ? `${count(g.rows)} over ${result.options.days} d (${(g.bytes / 1024 ** 2).toFixed(0)} MiB Parquet)` : 'n/a')
  row('Spark: k2ops init (cold driver start)', secs(result.sparkInit?.seconds))
  const i = result.sparkIngest
  row('Spark: k2ops ingest --format k2', i ? `${secs(i.seconds)}, ${count(i.tradesPerSecond)} trades/s${cpu(i)}` : 'n/a')
  const w = result.sparkBackfillWarm
  row('Spark: backfill --timeframe all (warm driver)', w ? `${secs(w.seconds)}${cpu(w)}` : 'n/a')
  if (w?.statementLog) row('  its requests to the driver', `${w.statementLog.requests} (${w.statementLog.statements} statements), ${secs(w.statementLog.roundTripSeconds)} round trip`)
  const c = result.sparkBackfillCold
  if (c) row('Spark: backfill (cold: driver stopped first)', `${secs(c.seconds)}${cpu(c)}`)
  const f = result.floor
  row('floor: spark-sql -f <same statements>', f ? `${secs(f.seconds)} (statements ${secs(f.statementSeconds)} + JVM start etc. ${secs(f.startAndOverheadSeconds)})` : 'n/a')
  const r = result.ratios ?? {}
  row('  warm backfill / floor (whole process)', r.warmBackfillToFloor === undefined ? 'n/a' : `${r.warmBackfillToFloor.toFixed(2)}×`, `≤ ${TARGETS.floorRatio}×`, r.warmBackfillToFloor === undefined ? undefined : r.warmBackfillToFloor <= TARGETS.floorRatio)
  if (r.warmBackfillToFloorStatements !== undefined) row('  warm backfill / floor statements only', `${r.warmBackfillToFloorStatements.toFixed(2)}×`)
  if (r.warmBackfillToFloorCpu !== undefined) row('  (CPU time: warm backfill + driver / floor)', `${r.warmBackfillToFloorCpu.toFixed(2)}× (floor ${f.cpuSeconds.toFixed(1)} s)`)
  if (r.coldBackfillToFloor !== undefined) row('  cold backfill / floor', `${r.coldBackfillToFloor.toFixed(2)}×`)
  const t = result.sparkTriggerWarm
  row('Spark: trigger 1m (warm, median of 5)', t ? `${secs(t.medianSeconds)} (${t.requestsPerRun} requests/run)` : 'n/a', `≤ ${TARGETS.triggerSeconds} s`, t ? t.medianSeconds <= TARGETS.triggerSeconds : undefined)
  row('Spark: trigger 1m (cold: driver stopped first)', secs(result.sparkTriggerCold?.seconds))
  const checked = (c) => `validate --timeframe all ${secs(c.validate.seconds)} (${count(c.validate.checked)} rows checked), health daily ${secs(c.healthDaily.seconds)}${c.healthDailyCold ? `, cold ${secs(c.healthDailyCold.seconds)}` : ''}`
  if (result.sparkChecks) row('Spark: checks (warm driver)', checked(result.sparkChecks))
  const maintained = (m) => `${secs(m.seconds)} (dry run ${secs(m.dryRun.seconds)}); snapshots ${count(m.before.snapshots)} → ${count(m.after.snapshots)}, stored files ${count(m.before.storedFiles)} → ${count(m.after.storedFiles)}`
  if (result.sparkMaintain) row('Spark: k2ops maintain (after backfill and triggers)', maintained(result.sparkMaintain))
  const di = result.duckdbIngest
  if (di) row('DuckDB: k2ops ingest --format k2', `${secs(di.seconds)}, ${count(di.tradesPerSecond)} trades/s`)
  const d = result.duckdbBackfill
  if (d) row('DuckDB: backfill --timeframe all', `${secs(d.seconds)} (CPU ${d.cpuSeconds?.toFixed(1)} s)`)
  if (result.duckdbChecks) row('DuckDB: checks', checked(result.duckdbChecks))
  if (result.duckdbMaintain) row('DuckDB: k2ops maintain (CHECKPOINT)', `${secs(result.duckdbMaintain.seconds)} (dry run ${secs(result.duckdbMaintain.dryRun.seconds)})`)
  if (r.sparkWarmToDuckdb !== undefined) row('  Spark (warm) / DuckDB backfill', `${r.sparkWarmToDuckdb.toFixed(2)}×`)
  if (result.candlesAgree !== undefined) row('  candles and trades counted agree', result.candlesAgree ? `yes (${count(d.candles)} candles)` : `no (Spark ${count(w.candles)}, DuckDB ${count(d.candles)})`)
  row('whole benchmark', `${result.totalSeconds.toFixed(0)} s`)
  return rows
}

export function renderSparkTable(result) {
  const rows = sparkSummary(result)
  const header = {measure: 'measure', value: 'value', target: 'target', result: 'result'}
  const widths = Object.fromEntries(Object.keys(header).map((k) => [k, Math.max(...[header, ...rows].map((r) => String(r[k]).length))]))
  const line = (r) => Object.keys(header).map((k) => String(r[k]).padEnd(widths[k])).join('  ').trimEnd()
  const m = result.machine
  const out = [
    `k2ops Spark benchmark — ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, node ${m.node}; Spark ${result.spark?.master ?? '?'}, catalog ${result.spark?.catalog ?? '?'}`,
    `data ${result.options.from} → ${result.options.to}, K2OPS_NOW ${result.options.now}; load average ${m.loadAverageAtStart.join(' ')} at start, ${result.loadAverageAtEnd?.join(' ') ?? '?'} at end`,
    '',
    line(header),
    Object.keys(header).map((k) => '-'.repeat(widths[k])).join('  '),
    ...rows.map(line),
  ]
  const kinds = result.sparkBackfillWarm?.statementLog?.kinds
  if (kinds) {
    out.push('', 'warm backfill, time per kind of request (statement log: round trip / in the driver):')
    for (const [kind, k] of Object.entries(kinds).sort((a, b) => b[1].roundTripSeconds - a[1].roundTripSeconds)) {
      out.push(`  ${kind.padEnd(42)} ${String(k.requests).padStart(4)} requests  ${secs(k.roundTripSeconds).padStart(9)} / ${secs(k.driverSeconds).padStart(9)}`)
    }

    const w = result.sparkBackfillWarm
    out.push(`  ${'outside the requests (node, CLI, lock, plan)'.padEnd(42)}                ${secs(w.seconds - w.statementLog.roundTripSeconds).padStart(9)}`)
  }

  const floorKinds = Object.entries(result.floor?.statementSecondsByKind ?? {})
  if (floorKinds.length > 0) {
    out.push('', "floor, time per kind of statement (spark-sql's Time taken):")
    for (const [kind, k] of floorKinds.sort((a, b) => b[1].seconds - a[1].seconds)) out.push(`  ${kind.padEnd(50)} ${String(k.statements).padStart(4)} statements  ${secs(k.seconds).padStart(9)}`)
  }

  const measured = [['Spark ingest', result.sparkIngest], ['warm backfill', result.sparkBackfillWarm], ['cold backfill', result.sparkBackfillCold], ['floor', result.floor], ['DuckDB backfill', result.duckdbBackfill]]
  const busy = measured.filter(([, r]) => r?.contention)
  if (busy.length > 0) {
    out.push('', `machine load (other processes' CPU, in cores, averaged over each measurement; steal in s): ${busy.map(([name, r]) => `${name} ${r.contention.otherCoresAverage} (steal ${r.contention.stealSeconds})`).join(', ')}`)
    if (busy.some(([, r]) => r.contention.otherCoresAverage > 0.2)) out.push('warning: the machine was not quiet; wall times and ratios are less reliable')
  }

  if (result.error) out.push('', `error: ${result.error}`)
  out.push('', `numbers also in bench/out/spark-last-run.json${result.workDir ? `; work dir kept: ${result.workDir}` : ''}`)
  return out.join('\n')
}
