import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {CheckReport, CheckResult} from '../../src/checks/check.js'

import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {CliResult, k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'
import {holdWarehouse} from '../helpers/warehouse-holder.js'
import {TestTrade, insertTrades, micros, openTestWarehouse} from '../helpers/warehouse.js'

/** The demo's clock: its trades run up to this instant. */
const DEMO_NOW = '2024-08-10T12:34:56Z'
const SEVERITY = {pass: 0, warn: 1, fail: 2} as const

/** `name` or `name timeframe`: how people (and the task lines) name a check. */
function label(check: Pick<CheckResult, 'name' | 'timeframe'>): string {
  return check.timeframe ? `${check.name} ${check.timeframe}` : check.name
}

function find(report: CheckReport, name: string, timeframe: string | null = null): CheckResult {
  const check = report.checks.find((candidate) => candidate.name === name && candidate.timeframe === timeframe)
  if (!check) throw new Error(`no check ${name} ${timeframe ?? ''} in ${report.checks.map(label).join(', ')}`)
  return check
}

function notPassing(report: CheckReport): string[] {
  return report.checks.filter((check) => check.status !== 'pass').map(label)
}

/** A new home holding a copy of `fromHome`'s warehouse (and its run history, when it has one). */
function copyHome(fromHome: string, toHome: string): string {
  cpSync(join(fromHome, 'warehouse.duckdb'), join(toHome, 'warehouse.duckdb'))
  if (existsSync(join(fromHome, 'warehouse.duckdb.wal'))) cpSync(join(fromHome, 'warehouse.duckdb.wal'), join(toHome, 'warehouse.duckdb.wal'))
  if (existsSync(join(fromHome, 'state'))) cpSync(join(fromHome, 'state'), join(toHome, 'state'), {recursive: true})
  return toHome
}

async function withHomeWarehouse<T>(home: string, work: (warehouse: Warehouse) => Promise<T>): Promise<T> {
  const warehouse = await Warehouse.open(join(home, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 5000})
  try {
    return await work(warehouse)
  } finally {
    warehouse.close()
  }
}

/** Trades of one market every `stepSeconds` from `from` to `to` (inclusive). */
function tradesEvery(prefix: string, from: string, to: string, stepSeconds = 30): TestTrade[] {
  const trades: TestTrade[] = []
  for (let at = micros(from), i = 0; at <= micros(to); at += stepSeconds * 1_000_000, i++) {
    trades.push({id: `${prefix}-${i}`, at, price: (60_000 + (i % 7)).toFixed(2), qty: '0.01'})
  }

  return trades
}

/** The clean demo warehouse, built once; tests copy its file for their variants. */
let demoRoot: string
let demoHome: string
let healthy: CliResult

beforeAll(async () => {
  demoRoot = mkdtempSync(join(tmpdir(), 'k2ops-health-'))
  demoHome = join(demoRoot, 'demo')
  const demo = await k2ops(['demo', '--home', demoHome, '--trades', '20000', '--json'], {K2OPS_NOW: DEMO_NOW})
  expect(demo.exitCode, demo.stderr).toBe(0)
  healthy = await k2ops(['health', 'daily', '--home', demoHome, '--json'], {K2OPS_NOW: DEMO_NOW})
})

afterAll(() => {
  if (demoRoot) rmSync(demoRoot, {recursive: true, force: true})
})

describe('k2ops freshness', () => {
  const tempDir = useTempDir('k2ops-fresh-')
  // Trades every 30 s from 10:00:00 to 10:29:30, and 1m candles built by a backfill at 10:30: the newest candle ends 10:30:00.
  const BUILT_AT = '2024-08-10T10:30:00Z'
  let baseRoot: string
  let base: string

  beforeAll(async () => {
    baseRoot = mkdtempSync(join(tmpdir(), 'k2ops-fresh-base-'))
    base = join(baseRoot, 'home')
    expect((await k2ops(['init', '--home', base])).exitCode).toBe(0)
    const warehouse = await openTestWarehouse(base)
    try {
      await insertTrades(warehouse, tradesEvery('t', '2024-08-10T10:00:00Z', '2024-08-10T10:29:30Z'))
    } finally {
      warehouse.close()
    }

    const backfill = await k2ops(['backfill', '--home', base, '--timeframe', '1m', '--from', '2024-08-10T10:00:00Z', '--to', BUILT_AT, '--json'], {K2OPS_NOW: BUILT_AT})
    expect(backfill.exitCode, backfill.stderr).toBe(0)
    expect(backfill.json).toMatchObject({candles: 30, trades: 60})
  })

  afterAll(() => {
    if (baseRoot) rmSync(baseRoot, {recursive: true, force: true})
  })

  /** A copy of the base warehouse with the trades that arrived after the candles were built. */
  async function homeWithLaterTrades(trades: TestTrade[]): Promise<string> {
    const home = copyHome(base, tempDir())
    if (trades.length > 0) await withHomeWarehouse(home, (warehouse) => insertTrades(warehouse, trades))
    return home
  }

  function freshness(home: string, now: string, ...extra: string[]): Promise<CliResult> {
    return k2ops(['freshness', '--home', home, '--timeframe', '1m', '--json', ...extra], {K2OPS_NOW: now})
  }

  it('passes when the candles are current: a trade in the still-open window is no lag', async () => {
    const home = await homeWithLaterTrades([{id: 'open-window', at: '2024-08-10T10:30:40Z', price: '60001', qty: '0.02'}])
    const result = await freshness(home, '2024-08-10T10:30:50Z')
    expect(result.exitCode, result.stderr).toBe(0)
    const report: CheckReport = result.json
    expect(report).toMatchObject({status: 'pass', checkedAt: '2024-08-10T10:30:50Z'})
    expect(report.checks.map(label)).toEqual(['source_lag', 'candle_lag 1m'])
    expect(find(report, 'source_lag')).toMatchObject({status: 'pass', value: 10, unit: 'seconds', thresholds: {warn: 300, fail: 600}})
    expect(find(report, 'candle_lag', '1m')).toMatchObject({status: 'pass', value: 40, unit: 'seconds', thresholds: {warn: 300, fail: 600}, evidence: [], hint: null})
  })

  it('warns when the newest trade is 7 min past the newest 1m candle (exit 0; exit 1 with --strict)', async () => {
    const home = await homeWithLaterTrades(tradesEvery('late', '2024-08-10T10:30:00Z', '2024-08-10T10:37:00Z'))
    const result = await freshness(home, '2024-08-10T10:37:20Z')
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.json.status).toBe('warn')
    expect(find(result.json, 'source_lag')).toMatchObject({status: 'pass', value: 20})
    const lag = find(result.json, 'candle_lag', '1m')
    expect(lag).toMatchObject({status: 'warn', value: 420})
    expect(lag.summary).toMatch(/7 min.*pipeline is behind/)
    expect(lag.evidence).toEqual([{timeframe: '1m', newest_candle_end: '2024-08-10T10:30:00Z', newest_trade: '2024-08-10T10:37:00Z', lag_seconds: 420}])
    expect(lag.hint).toContain('k2ops trigger 1m')

    const strict = await freshness(home, '2024-08-10T10:37:20Z', '--strict')
    expect(strict.exitCode).toBe(1)
    expect(strict.json.status).toBe('warn')
  })

  it('fails when the newest trade is 12 min past the newest 1m candle (exit 1)', async () => {
    const home = await homeWithLaterTrades(tradesEvery('late', '2024-08-10T10:30:00Z', '2024-08-10T10:42:00Z'))
    const result = await freshness(home, '2024-08-10T10:42:20Z')
    expect(result.exitCode).toBe(1)
    expect(result.json.status).toBe('fail')
    expect(find(result.json, 'source_lag').status).toBe('pass')
    expect(find(result.json, 'candle_lag', '1m')).toMatchObject({status: 'fail', value: 720})
  })

  it('reports a feed that stopped 2 h ago as source lag, not as pipeline lag, when the candles caught up', async () => {
    const home = await homeWithLaterTrades([])
    const result = await freshness(home, '2024-08-10T12:29:30Z')
    expect(result.exitCode).toBe(1)
    expect(notPassing(result.json)).toEqual(['source_lag'])
    const source = find(result.json, 'source_lag')
    expect(source).toMatchObject({status: 'fail', value: 7200})
    expect(source.summary).toMatch(/no trades from BINANCE for 2 h.*the feed is behind, not the pipeline/)
    expect(source.evidence).toEqual([{exchange: 'BINANCE', newest_trade: '2024-08-10T10:29:30Z', lag_seconds: 7200, status: 'fail'}])
    expect(source.hint).toContain('BINANCE')
    expect(find(result.json, 'candle_lag', '1m')).toMatchObject({status: 'pass', value: 0})
  })

  it('takes its thresholds from <home>/config.json, and names an unknown key in a one-line usage error', async () => {
    const home = await homeWithLaterTrades(tradesEvery('late', '2024-08-10T10:30:00Z', '2024-08-10T10:37:00Z'))
    const now = '2024-08-10T10:37:20Z'
    const config = (thresholds: unknown) => writeFileSync(join(home, 'config.json'), JSON.stringify({thresholds}))

    config({candleLagMinutes: {'1m': {warn: 1, fail: 2}}})
    const tighter = await freshness(home, now)
    expect(tighter.exitCode).toBe(1)
    expect(find(tighter.json, 'candle_lag', '1m')).toMatchObject({status: 'fail', value: 420, thresholds: {warn: 60, fail: 120}})
    // Only the overridden limits change.
    expect(find(tighter.json, 'source_lag').thresholds).toEqual({warn: 300, fail: 600})

    config({candleLagMinutes: {'1m': {warn: 10, fail: 20}}})
    const looser = await freshness(home, now)
    expect(looser.exitCode).toBe(0)
    expect(find(looser.json, 'candle_lag', '1m')).toMatchObject({status: 'pass', thresholds: {warn: 600, fail: 1200}})

    config({candleLagMinutes: {'1m': {warn: 1, fial: 2}}})
    const typo = await k2ops(['freshness', '--home', home, '--timeframe', '1m'], {K2OPS_NOW: now})
    expect(typo.exitCode).toBe(2)
    expect(typo.stdout).toBe('')
    expect(typo.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^k2ops: .*config\.json: thresholds\.candleLagMinutes\.1m\.fial: unknown key \(did you mean 'fail'\? known: warn, fail\)$/)])
  })
})

describe('k2ops health daily', () => {
  const tempDir = useTempDir('k2ops-health-')

  it('passes on the healthy demo warehouse, with every check of the runbook', () => {
    const report: CheckReport = healthy.json
    expect(report, healthy.stdout).toBeDefined()
    const disk = find(report, 'disk_space')
    // No scheduler runs on the demo home: its two checks warn (flows run only when triggered).
    for (const name of ['scheduler_process', 'scheduler_api']) expect(find(report, name), name).toMatchObject({status: 'warn', hint: 'k2ops scheduler start'})
    expect(find(report, 'scheduler_process').summary).toBe('the scheduler is not running: flows run only when triggered')
    // Free space is the test machine's: it alone may not pass here; every other check must.
    expect(notPassing(report).filter((name) => name !== 'disk_space')).toEqual(['scheduler_process', 'scheduler_api'])
    expect(report.status).toBe(disk.status === 'pass' ? 'warn' : disk.status)
    expect(healthy.exitCode, healthy.stderr).toBe(disk.status === 'fail' ? 1 : 0)
    expect(report.checkedAt).toBe('2024-08-10T12:34:56Z')
    // --json: stdout is the one document, and no task lines anywhere.
    expect(healthy.stdout.trim().startsWith('{')).toBe(true)
    expect(healthy.stderr).toBe('')

    const names = new Set(report.checks.map((check) => check.name))
    for (const name of [
      'scheduler_process', 'scheduler_api', 'run_success_rate', 'failure_streak', 'run_duration', 'warehouse_access', 'source_lag', 'candle_lag',
      'ohlc_bounds', 'vwap_bounds', 'positive_volume', 'window_order', 'window_length', 'window_alignment', 'window_date', 'unique_key', 'rollup',
      'pipeline_gaps', 'ingest_gaps', 'reconcile', 'trade_values', 'trade_timestamps', 'duplicate_trade_ids', 'duplicate_fills', 'trade_volume',
      'warehouse_size', 'disk_space',
    ]) expect(names, name).toContain(name)
    expect(report.checks.filter((check) => check.name === 'candle_lag').map((check) => check.timeframe)).toEqual(['1m', '5m', '30m', '1h', '1d'])
    // The demo's ten flow runs are the last day's runs.
    expect(find(report, 'run_success_rate')).toMatchObject({value: 1, unit: 'ratio'})
    expect(find(report, 'trade_volume').value).toBeGreaterThan(0)
  })

  it('prints the report table on stdout and plain task lines on stderr without --json', async () => {
    const result = await k2ops(['health', 'daily', '--home', demoHome], {K2OPS_NOW: DEMO_NOW})
    const disk = find(healthy.json, 'disk_space')
    expect(result.exitCode, result.stderr).toBe(disk.status === 'fail' ? 1 : 0)
    expect(result.stdout).toMatch(/^CHECK\s+1m\s+5m\s+30m\s+1h\s+1d$/m)
    expect(result.stdout).toMatch(/^candle_lag\s+pass 56 s \[[\d,]+\]\s+pass 4 min \[[\d,]+\]/m)
    // Each cell says how many rows the check looked at: a pass over nothing is not a pass.
    expect(result.stdout).toMatch(/^ohlc_bounds\s+pass \[[1-9][\d,]*\]/m)
    expect(result.stdout).toContain('[n]: rows checked')
    expect(result.stdout).not.toContain('nothing to check')
    expect(result.stdout).toMatch(/^STATUS\s+CHECK\s+VALUE\s+CHECKED\s+SUMMARY$/m)
    expect(result.stdout).toMatch(/^PASS\s+run_success_rate\s+100%\s+-\s+100% of 10 finished runs completed/m)
    expect(result.stdout).toMatch(/^PASS\s+trade_values\s+0\s+20,\d{3}\s+every trade/m)
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(disk.status === 'pass' ? /^health daily: warn — 0 failed, 2 warned, 73 passed \(exit 0\)$/ : /^health daily: /)
    // No colour off a terminal, and the task list stays off stdout.
    expect(result.stdout).not.toMatch(/\u001B\[/)
    expect(result.stdout).not.toContain('Flow runs, last 24 h')
    expect(result.stderr).toContain('Scheduler process and API: WARN: scheduler_process, scheduler_api')
    expect(result.stderr).toContain('Flow runs, last 24 h: pass (3 checks)')
    expect(result.stderr).toContain('Candle invariants and rollups, last day: pass (44 checks)')
    expect(result.stderr).toMatch(/Storage: (pass \(2 checks\)|WARN: disk_space|FAIL: disk_space)/)
    expect(result.stderr).not.toMatch(/\u001B\[/)
  })

  describe('on a broken copy of the demo warehouse', () => {
    /** The three candles broken, keys as µs. */
    const broken: Array<{symbol: string; exchange: string; startMicros: number}> = []
    let brokenRoot: string
    let home: string
    let promDir: string
    let json: CliResult
    let text: CliResult

    beforeAll(async () => {
      brokenRoot = mkdtempSync(join(tmpdir(), 'k2ops-broken-'))
      home = copyHome(demoHome, brokenRoot)
      await withHomeWarehouse(home, async (warehouse) => {
        const rows = await warehouse.all<{symbol: string; exchange: string; us: bigint}>(
          `SELECT symbol, exchange, epoch_us(window_start) AS us FROM market_data.gold_ohlcv_1m
           WHERE symbol LIKE 'BTC%' AND window_start >= TIMESTAMP '2024-08-10 06:00:00' ORDER BY window_start, exchange LIMIT 3`,
        )
        expect(rows).toHaveLength(3)
        broken.push(...rows.map((row) => ({symbol: row.symbol, exchange: row.exchange, startMicros: Number(row.us)})))
        const key = (i: number) => ({symbol: rows[i].symbol, exchange: rows[i].exchange, us: rows[i].us})
        const where = 'WHERE symbol = $symbol AND exchange = $exchange AND epoch_us(window_start) = $us'
        await warehouse.run(`UPDATE market_data.gold_ohlcv_1m SET high_price = low_price - 1 ${where}`, key(0))
        await warehouse.run(`DELETE FROM market_data.gold_ohlcv_1m ${where}`, key(1))
        await warehouse.run(`UPDATE market_data.gold_ohlcv_1m SET trade_count = trade_count + 1 ${where}`, key(2))
      })
      promDir = join(brokenRoot, 'textfile')
      mkdirSync(promDir)
      json = await k2ops(['health', 'daily', '--home', home, '--json', '--prom-file', join(promDir, 'k2ops.prom')], {K2OPS_NOW: DEMO_NOW})
      text = await k2ops(['health', 'daily', '--home', home], {K2OPS_NOW: DEMO_NOW})
    })

    afterAll(() => {
      if (brokenRoot) rmSync(brokenRoot, {recursive: true, force: true})
    })

    const sameWindow = (row: Record<string, unknown>, i: number) =>
      row.symbol === broken[i].symbol && row.exchange === broken[i].exchange && Date.parse(String(row.window_start)) === broken[i].startMicros / 1000

    it('fails (exit 1) and names exactly the checks that the damage breaks, with the rows as evidence', () => {
      expect(json.exitCode, json.stderr).toBe(1)
      const report: CheckReport = json.json
      expect(report.status).toBe('fail')
      expect(json.stderr).toBe('')
      const failing = report.checks.filter((check) => check.status === 'fail').map(label)
      expect(failing.sort()).toEqual(['ohlc_bounds 1m', 'pipeline_gaps 1m', 'reconcile 1m', 'rollup 5m', 'vwap_bounds 1m'])
      for (const name of failing) {
        const check = report.checks.find((candidate) => label(candidate) === name)!
        expect(check.status, name).toBe('fail')
        // A rollup check cannot tell which level is wrong: its backfill rebuilds every level.
        expect(check.hint, name).toMatch(name === 'rollup 5m' ? /^k2ops backfill --timeframe all --from / : /^k2ops backfill --timeframe 1m --from /)
      }

      // high below low: the candle is the evidence of both bounds checks.
      const bounds = find(report, 'ohlc_bounds', '1m')
      expect(bounds).toMatchObject({value: 1, evidenceOmitted: 0})
      expect(sameWindow(bounds.evidence[0], 0), JSON.stringify(bounds.evidence)).toBe(true)
      expect(Number(bounds.evidence[0].high_price)).toBeLessThan(Number(bounds.evidence[0].low_price))
      expect(sameWindow(find(report, 'vwap_bounds', '1m').evidence[0], 0)).toBe(true)
      // The deleted candle: its trades have no candle.
      const gaps = find(report, 'pipeline_gaps', '1m')
      expect(gaps.value).toBe(1)
      expect(sameWindow(gaps.evidence[0], 1), JSON.stringify(gaps.evidence)).toBe(true)
      expect(gaps.hint).toContain(`--from ${new Date(broken[1].startMicros / 1000).toISOString().replace('.000', '')}`)
      // The altered trade_count: one more than its trades.
      const reconcile = find(report, 'reconcile', '1m')
      expect(reconcile.value).toBe(1)
      expect(sameWindow(reconcile.evidence[0], 2), JSON.stringify(reconcile.evidence)).toBe(true)
      expect(reconcile.evidence[0]).toMatchObject({count_diff: 1})
      // Every damaged 1m candle shows up again in the 5m rollup, whose hint rebuilds the 5m windows it names, whole.
      const rollup = find(report, 'rollup', '5m')
      expect(rollup.value).toBeGreaterThanOrEqual(1)
      expect(rollup.evidenceOmitted).toBe(0)
      const parents = rollup.evidence.map((row) => Date.parse(String(row.window_start)))
      const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')
      expect(rollup.hint).toBe(`k2ops backfill --timeframe all --from ${at(Math.min(...parents))} --to ${at(Math.max(...parents) + 5 * 60_000)}`)
    })

    it('shows the failures, their evidence and next steps on stdout, and the failing steps on stderr, without --json', () => {
      expect(text.exitCode).toBe(1)
      expect(text.stdout).toMatch(/^ohlc_bounds\s+FAIL 1 \[[\d,]+\]\s+pass/m)
      expect(text.stdout).toMatch(/^FAIL ohlc_bounds 1m: 1 candle of [\d,]+ breaks high ≥ open, close and low ≤ open, close$/m)
      expect(text.stdout).toMatch(/^FAIL pipeline_gaps 1m: /m)
      expect(text.stdout).toMatch(/^next: k2ops backfill --timeframe 1m --from /m)
      expect(text.stdout).toContain(broken[1].symbol)
      expect(text.stdout.trim().split('\n').at(-1)).toMatch(/^health daily: fail — 5 failed, \d+ warned, \d+ passed \(exit 1\)$/)
      expect(text.stdout).not.toContain('Candles vs trades, last day')
      // A step whose checks failed is a failed task (✖), naming them; the steps that passed are ✔ lines.
      const taskLines = text.stderr.split('\n').map((line) => line.trim())
      expect(taskLines).toContain('✖ Candle invariants and rollups, last day [FAILED: ohlc_bounds 1m, vwap_bounds 1m, rollup 5m]')
      expect(taskLines).toContain('✖ Missing candles, last day [FAILED: pipeline_gaps 1m]')
      expect(taskLines).toContain('✖ Candles vs trades, last day [FAILED: reconcile 1m]')
      expect(taskLines).toContain('✔ Flow runs, last 24 h: pass (3 checks)')
      expect(text.stderr).not.toMatch(/✔ (Candle invariants|Missing candles|Candles vs trades)/)
    })

    it('--prom-file writes Prometheus text format that matches the JSON report, leaving no temp file', () => {
      expect(readdirSync(promDir)).toEqual(['k2ops.prom'])
      const text = readFileSync(join(promDir, 'k2ops.prom'), 'utf8')
      // Every line is a HELP, a TYPE or a sample, as the textfile collector expects.
      for (const line of text.trimEnd().split('\n')) {
        expect(line).toMatch(/^(# HELP [a-zA-Z_:][\w:]* .+|# TYPE [a-zA-Z_:][\w:]* gauge|[a-zA-Z_:][\w:]*(\{[a-zA-Z_]\w*="([^"\\\n]|\\.)*"(,[a-zA-Z_]\w*="([^"\\\n]|\\.)*")*\})? -?\d+(\.\d+)?(e[+-]?\d+)?)$/)
      }

      const families = parsePrometheusTextFormat(text)
      const family = (name: string) => {
        const found = families.find((candidate) => candidate.name === name)
        if (!found) throw new Error(`no ${name} in ${families.map((f) => f.name).join(', ')}`)
        expect(found.type).toBe('GAUGE')
        return found
      }

      const report: CheckReport = json.json
      expect(family('k2ops_health_status').metrics).toEqual([{value: String(SEVERITY.fail)}])
      expect(Number(family('k2ops_health_checked_timestamp_seconds').metrics[0].value)).toBe(Date.parse(DEMO_NOW) / 1000)

      const statuses = family('k2ops_check_status').metrics
      expect(statuses.map((sample) => sample.labels)).toEqual(report.checks.map((check) => ({check: check.name, timeframe: check.timeframe ?? ''})))
      expect(statuses.map((sample) => Number(sample.value))).toEqual(report.checks.map((check) => SEVERITY[check.status]))
      expect(statuses.find((sample) => sample.labels?.check === 'ohlc_bounds' && sample.labels.timeframe === '1m')?.value).toBe('2')
      // One series per (check, timeframe): a duplicate would make Prometheus reject the file.
      expect(new Set(statuses.map((sample) => JSON.stringify(sample.labels))).size).toBe(statuses.length)

      const withValue = report.checks.filter((check) => check.value !== null)
      const values = family('k2ops_check_value').metrics
      expect(values.map((sample) => sample.labels)).toEqual(withValue.map((check) => ({check: check.name, timeframe: check.timeframe ?? '', unit: check.unit})))
      expect(values.map((sample) => Number(sample.value))).toEqual(withValue.map((check) => check.value))

      const counted = report.checks.filter((check) => check.checked !== null)
      const checked = family('k2ops_check_checked_rows').metrics
      expect(checked.map((sample) => sample.labels)).toEqual(counted.map((check) => ({check: check.name, timeframe: check.timeframe ?? ''})))
      expect(checked.map((sample) => Number(sample.value))).toEqual(counted.map((check) => check.checked))

      const flows = family('k2ops_flow_runs_24h').metrics
      expect(flows.map((sample) => sample.labels?.flow)).toEqual(expect.arrayContaining(['OHLCV-1m-Pipeline', 'OHLCV-1d-Pipeline']))
      expect(flows.reduce((sum, sample) => sum + Number(sample.value), 0)).toBe(10)
    })
  })

  it('--prom-file that cannot be written is a usage error naming it (exit 2), with no temp file left', async () => {
    const dir = tempDir()
    const missing = await k2ops(['health', 'daily', '--home', demoHome, '--json', '--prom-file', join(dir, 'no-such-dir', 'k2ops.prom')], {K2OPS_NOW: DEMO_NOW})
    expect(missing.exitCode).toBe(2)
    expect(missing.json.error).toMatchObject({code: 'prom_file_unwritable', exit: 2, message: `--prom-file: no directory ${join(dir, 'no-such-dir')}`})
    // A directory where the file should be: found only when writing, and named as asked, not as the temp file.
    mkdirSync(join(dir, 'k2ops.prom'))
    const blocked = await k2ops(['health', 'daily', '--home', demoHome, '--prom-file', join(dir, 'k2ops.prom')], {K2OPS_NOW: DEMO_NOW})
    expect(blocked.exitCode).toBe(2)
    expect(blocked.stderr).toContain(`k2ops: ${join(dir, 'k2ops.prom')}: cannot write the Prometheus file (EISDIR)`)
    expect(readdirSync(dir)).toEqual(['k2ops.prom'])
  })

  it('skips the warehouse checks when another process holds it (exit 4), naming the holder', async () => {
    const home = copyHome(demoHome, tempDir())
    // Another process holds the warehouse read-write until released.
    const holder = await holdWarehouse(join(home, 'warehouse.duckdb'), 'test holder')
    try {
      expect(JSON.parse(readFileSync(join(home, 'warehouse.duckdb.holder.json'), 'utf8'))).toMatchObject({pid: holder.pid, operation: 'test holder'})

      // It gives up on the warehouse after a short wait (how long: bench/answers-while-held.mjs) and reports the rest.
      const result = await k2ops(['health', 'daily', '--home', home, '--json'], {K2OPS_NOW: DEMO_NOW})
      expect(result.exitCode, result.stderr).toBe(4)
      const report: CheckReport = result.json
      expect(report.status).toBe('warn')
      expect(report.checks.map(label)).toEqual(['scheduler_process', 'scheduler_api', 'run_success_rate', 'failure_streak', 'run_duration', 'warehouse_access', 'warehouse_size', 'disk_space'])
      const access = find(report, 'warehouse_access')
      expect(access.status).toBe('warn')
      expect(access.summary).toContain(`pid ${holder.pid} (test holder`)
      expect(access.summary).toMatch(/the warehouse checks were skipped$/)
      expect(access.hint).toMatch(/--lock-timeout/)
      expect(find(report, 'run_success_rate').status).toBe('pass')
      expect(find(report, 'warehouse_size').value).toBeGreaterThan(0)

      // --strict does not turn "try again later" into a failure: still exit 4, and people are told why after the report.
      const strictText = await k2ops(['health', 'daily', '--home', home, '--strict'], {K2OPS_NOW: DEMO_NOW})
      expect(strictText.exitCode, strictText.stderr).toBe(4)
      expect(strictText.stdout.trim().split('\n').at(-1)).toMatch(/^The warehouse checks did not run: another process holds the warehouse \(exit 4\)\./)

      const validate = await k2ops(['validate', '--home', home, '--lock-timeout', '1', '--json'], {K2OPS_NOW: DEMO_NOW})
      expect(validate.exitCode).toBe(4)
      expect(validate.json.error).toMatchObject({code: 'warehouse_busy', exit: 4})
      expect(validate.json.error.message).toContain(`pid ${holder.pid} (test holder`)
    } finally {
      await holder.release()
    }
  })

  it('checks over nothing say so: three days after the last trade, validate shows 0 candles checked, trade_volume and checked_coverage warn', async () => {
    const later = {K2OPS_NOW: '2024-08-13T12:34:56Z'}
    const report: CheckReport = (await k2ops(['health', 'daily', '--home', demoHome, '--json'], later)).json
    // Every candle check of the last day looked at 0 rows, and says so in `checked`.
    for (const name of ['ohlc_bounds', 'unique_key', 'pipeline_gaps', 'reconcile']) expect(find(report, name, '1m').checked, name).toBe(0)
    expect(find(report, 'ohlc_bounds', '1m').status).toBe('pass')
    expect(find(report, 'trade_values').checked).toBe(20_038)
    expect(find(report, 'trade_volume')).toMatchObject({status: 'warn', checked: 0, summary: expect.stringMatching(/^no trades in the last 24 h \(the warehouse holds 20,038 older trades\): nothing to measure$/)})
    const coverage = find(report, 'checked_coverage')
    expect(coverage.status).toBe('warn')
    expect(coverage.summary).toMatch(/^nothing to check for validate 1m, validate 5m, .*gaps 1m, .*reconcile 1d although the warehouse holds 20,038 trades/)
    expect(coverage.evidence).toContainEqual({family: 'validate', timeframe: '1m', checked: 0})
    // On the healthy day it passes.
    expect(find(healthy.json, 'checked_coverage')).toMatchObject({status: 'pass', value: 0})
    expect(find(healthy.json, 'ohlc_bounds', '1m').checked).toBeGreaterThan(1000)

    const validate = await k2ops(['validate', '--home', demoHome, '--lookback-days', '1'], later)
    expect(validate.exitCode, validate.stderr).toBe(0)
    expect(validate.stdout).toMatch(/^ohlc_bounds\s+pass \[0\]/m)
    expect(validate.stdout).toMatch(/^nothing to check \(0 rows\): ohlc_bounds 1m, vwap_bounds 1m, /m)
  })

  it('locks the JSON shape of a report, of each check, and the list of daily checks in order', () => {
    const report: CheckReport = healthy.json
    expect(Object.keys(report)).toEqual(['status', 'checkedAt', 'checks'])
    for (const check of report.checks) {
      // `checked` (rows the check looked at) was added on purpose: a pass over 0 rows says nothing.
      expect(Object.keys(check), label(check)).toEqual(['name', 'timeframe', 'status', 'summary', 'value', 'unit', 'checked', 'thresholds', 'evidence', 'evidenceOmitted', 'hint'])
    }

    // A change to this list is a change to the report scripts and dashboards read: make it on purpose.
    // prettier-ignore
    expect(report.checks.map(label)).toEqual([
      'scheduler_process', 'scheduler_api',
      'run_success_rate', 'failure_streak', 'run_duration', 'warehouse_access', 'source_lag',
      'candle_lag 1m', 'candle_lag 5m', 'candle_lag 30m', 'candle_lag 1h', 'candle_lag 1d',
      'ohlc_bounds 1m', 'vwap_bounds 1m', 'positive_volume 1m', 'window_order 1m', 'window_length 1m', 'window_alignment 1m', 'window_date 1m', 'unique_key 1m',
      'ohlc_bounds 5m', 'vwap_bounds 5m', 'positive_volume 5m', 'window_order 5m', 'window_length 5m', 'window_alignment 5m', 'window_date 5m', 'unique_key 5m', 'rollup 5m',
      'ohlc_bounds 30m', 'vwap_bounds 30m', 'positive_volume 30m', 'window_order 30m', 'window_length 30m', 'window_alignment 30m', 'window_date 30m', 'unique_key 30m', 'rollup 30m',
      'ohlc_bounds 1h', 'vwap_bounds 1h', 'positive_volume 1h', 'window_order 1h', 'window_length 1h', 'window_alignment 1h', 'window_date 1h', 'unique_key 1h', 'rollup 1h',
      'ohlc_bounds 1d', 'vwap_bounds 1d', 'positive_volume 1d', 'window_order 1d', 'window_length 1d', 'window_alignment 1d', 'window_date 1d', 'unique_key 1d', 'rollup 1d',
      'pipeline_gaps 1m', 'pipeline_gaps 5m', 'pipeline_gaps 30m', 'pipeline_gaps 1h', 'pipeline_gaps 1d',
      'ingest_gaps',
      'reconcile 1m', 'reconcile 5m', 'reconcile 30m', 'reconcile 1h', 'reconcile 1d',
      'trade_values', 'trade_timestamps', 'duplicate_trade_ids', 'duplicate_fills', 'trade_volume',
      'checked_coverage',
      'warehouse_size', 'disk_space',
    ])
  })

  it('prints a usage error as {error: {code, exit, message, suggestions}} with exit 2 under --json', async () => {
    const unknownFlag = await k2ops(['health', 'daily', '--home', demoHome, '--since', '-1h', '--json'])
    expect(unknownFlag.exitCode).toBe(2)
    expect(Object.keys(unknownFlag.json)).toEqual(['error'])
    expect(Object.keys(unknownFlag.json.error)).toEqual(['code', 'exit', 'message', 'suggestions'])
    expect(unknownFlag.json.error).toMatchObject({code: 'unknown_flag', exit: 2, message: expect.stringContaining('--since'), suggestions: [expect.stringContaining('--help')]})
    expect(unknownFlag.stderr).toBe('')

    const badTimeframe = await k2ops(['freshness', '--home', demoHome, '--timeframe', '2m', '--json'])
    expect(badTimeframe.exitCode).toBe(2)
    expect(badTimeframe.json).toEqual({error: {code: 'unknown_timeframe', exit: 2, message: expect.stringContaining("'2m'"), suggestions: []}})
  })
})

describe('k2ops inspect trades', () => {
  const tempDir = useTempDir('k2ops-inspect-')

  it('fails on a zero price, a 2005 timestamp and a duplicate trade id, warns on identical fills, with evidence', async () => {
    const home = tempDir()
    expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
    const warehouse = await openTestWarehouse(home)
    try {
      await insertTrades(warehouse, [
        ...tradesEvery('ok', '2024-08-10T11:00:00Z', '2024-08-10T11:10:00Z'),
        {id: 'zero-price', at: '2024-08-10T11:01:10Z', price: '0', qty: '0.5'},
        {id: 'year-2005', at: '2005-06-01T00:00:00Z', price: '60000', qty: '0.5'},
        // The same trade id twice (a replayed message with a corrected price).
        {id: 'dup-id', at: '2024-08-10T11:02:10Z', price: '60010', qty: '0.2'},
        {id: 'dup-id', at: '2024-08-10T11:02:11Z', price: '60011', qty: '0.2'},
        // Two fills alike in all but their ids.
        {id: 'fill-a', at: '2024-08-10T11:03:00.5Z', price: '60020', qty: '0.05'},
        {id: 'fill-b', at: '2024-08-10T11:03:00.5Z', price: '60020', qty: '0.05'},
      ])
    } finally {
      warehouse.close()
    }

    const result = await k2ops(['inspect', 'trades', '--home', home, '--json'], {K2OPS_NOW: '2024-08-10T12:00:00Z'})
    expect(result.exitCode, result.stderr).toBe(1)
    const report: CheckReport = result.json
    expect(report.status).toBe('fail')
    expect(report.checks.map((check) => [check.name, check.status])).toEqual([
      ['trade_values', 'fail'],
      ['trade_timestamps', 'fail'],
      ['duplicate_trade_ids', 'fail'],
      ['duplicate_fills', 'warn'],
      ['trade_volume', 'pass'],
    ])

    const values = find(report, 'trade_values')
    expect(values).toMatchObject({value: 1, unit: 'trades', evidenceOmitted: 0})
    // Whole seconds without a fraction; a fraction only when there is one (the fills below).
    expect(values.evidence).toEqual([expect.objectContaining({trade_id: 'zero-price', timestamp: '2024-08-10T11:01:10Z'})])
    expect(Number(values.evidence[0].price)).toBe(0)
    const times = find(report, 'trade_timestamps')
    expect(times.value).toBe(1)
    expect(times.evidence).toEqual([expect.objectContaining({trade_id: 'year-2005', timestamp: '2005-06-01T00:00:00Z'})])
    const ids = find(report, 'duplicate_trade_ids')
    expect(ids).toMatchObject({value: 1, unit: 'groups'})
    expect(ids.evidence).toEqual([{exchange: 'BINANCE', symbol: 'BTCUSDT', trade_id: 'dup-id', copies: 2}])
    const fills = find(report, 'duplicate_fills')
    expect(fills.value).toBe(1)
    expect(fills.evidence).toEqual([expect.objectContaining({timestamp: '2024-08-10T11:03:00.500000Z', symbol: 'BTCUSDT', exchange: 'BINANCE', copies: 2})])
    expect(Number(fills.evidence[0].price)).toBe(60_020)
    for (const check of [values, times, ids, fills]) expect(check.hint, check.name).toBeTruthy()
  })

  it('passes on the clean demo warehouse', async () => {
    const result = await k2ops(['inspect', 'trades', '--home', demoHome, '--json'], {K2OPS_NOW: DEMO_NOW})
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.json.status).toBe('pass')
    expect(result.json.checks.map((check: CheckResult) => [check.name, check.status])).toEqual([
      ['trade_values', 'pass'],
      ['trade_timestamps', 'pass'],
      ['duplicate_trade_ids', 'pass'],
      ['duplicate_fills', 'pass'],
      ['trade_volume', 'pass'],
    ])
    expect(find(result.json, 'trade_volume').evidence.length).toBeGreaterThan(0)
  })
})
