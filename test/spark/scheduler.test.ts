import {appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it, vi} from 'vitest'

import {k2ops} from '../helpers/cli.js'
import {SPARK_START_TIMEOUT_MS, describeSpark} from '../helpers/spark.js'
import {MAINTENANCE_DEPLOYMENT} from '../../src/pipeline/config-schema.js'
import {stopDriver} from '../../src/pipeline/engine/spark/session.js'
import {resolveHome} from '../../src/pipeline/home.js'
import {isProcessRunning} from '../../src/pipeline/process-owner.js'
import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'

// The scheduler on the Spark engine, end to end with real processes: a detached daemon runs the five
// flows (each a child `k2ops trigger`) on the home's warm Spark driver, one at a time, and
// `scheduler stop` stops the driver with it. One home and one driver for the file (slow: minutes).

vi.setConfig({testTimeout: SPARK_START_TIMEOUT_MS + 300_000, hookTimeout: 60_000})

/** The flows' clock (the daemon passes it to each flow process): ten minutes after the tape's last trade day began. */
const NOW = '2024-08-09T00:10:00Z'
const NOW_MS = Date.parse(NOW)
const TAPE_FROM_MS = Date.parse('2024-08-07T00:00:00Z')
const TRADE_EVERY_MS = 61_000

/** No cron tick falls within the test: the runs are the catch-up's, one per deployment. */
const YEARLY = '0 0 1 1 *'

const dir = mkdtempSync(join(tmpdir(), 'k2ops-spark-scheduler-'))
const homeDir = join(dir, 'home')
const env = {K2OPS_NOW: NOW}
const daemons: number[] = []

/** A Binance trade tape (binance.vision layout): a trade every 61 s from the tape's start to just before NOW. */
function writeTape(): {file: string; tradeStarts: number[]} {
  const file = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
  const lines: string[] = []
  const tradeStarts: number[] = []
  for (let i = 0, at = TAPE_FROM_MS; at < NOW_MS - 60_000; i++, at += TRADE_EVERY_MS) {
    const cents = 6_000_000 + ((i * 37) % 500)
    const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}000000`
    const qty = `0.00${1 + (i % 9)}00000`
    const quote = ((cents * (1 + (i % 9))) / 100_000).toFixed(8)
    lines.push(`${1_000_000 + i},${price},${qty},${quote},${at},${i % 2 === 0 ? 'True' : 'False'},True`)
    tradeStarts.push(at)
  }

  writeFileSync(file, lines.join('\n') + '\n')
  return {file, tradeStarts}
}

/**
 * A scheduler that last ran on this year's first tick of its (yearly) crons and was stopped before
 * the runs for it started: each deployment's tick was missed, so the next start catches up once.
 */
function seedMissedTicks(): void {
  const tick = `${new Date().getUTCFullYear()}-01-01T00:00:00.000Z`
  mkdirSync(join(homeDir, 'state'), {recursive: true, mode: 0o700})
  for (const tf of TIMEFRAMES) {
    const {flow, deployment} = TIMEFRAME_SPECS[tf]
    const record = {id: `seed-${tf}`, flow, deployment, timeframe: tf, trigger: 'scheduled', state: 'Cancelled', startedAt: tick, endedAt: tick, scheduledFor: tick, pid: 1, warehouse: 'iceberg.market_data', note: 'the scheduler stopped before the run started'}
    appendFileSync(join(homeDir, 'state', 'runs.jsonl'), JSON.stringify(record) + '\n', {mode: 0o600})
  }
}

afterAll(async () => {
  // Never leave a daemon, its flow process or a driver behind, whatever the test did.
  for (const pid of daemons) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL')
      } catch {
        // gone
      }
    }
  }

  if (existsSync(homeDir)) await stopDriver(resolveHome({home: homeDir, defaultDir: homeDir})).catch(() => {})
  rmSync(dir, {recursive: true, force: true})
})

describeSpark('k2ops scheduler on the Spark engine (real processes)', () => {
  it('runs the five flows on Spark one at a time, records them as on DuckDB, and stops its warm driver with it', async () => {
    mkdirSync(homeDir, {mode: 0o700})
    // The five flows only: maintenance (active on Spark, never run here) would catch up too.
    const deployments = {...Object.fromEntries(TIMEFRAMES.map((tf) => [TIMEFRAME_SPECS[tf].deployment, {cron: YEARLY, retries: 0}])), [MAINTENANCE_DEPLOYMENT]: {paused: true}}
    writeFileSync(join(homeDir, 'config.json'), JSON.stringify({engine: 'spark', scheduler: {port: 0}, lockTimeoutSeconds: 120, deployments}))
    const init = await k2ops(['init', '--home', homeDir], env, {timeoutMs: SPARK_START_TIMEOUT_MS})
    expect(init.exitCode, init.stderr).toBe(0)
    const tape = writeTape()
    const ingest = await k2ops(['ingest', tape.file, '--home', homeDir, '--json'], env, {timeoutMs: SPARK_START_TIMEOUT_MS})
    expect(ingest.exitCode, ingest.stderr + ingest.stdout).toBe(0)
    seedMissedTicks()

    const start = await k2ops(['scheduler', 'start', '--home', homeDir, '--json'], env)
    expect(start.exitCode, start.stderr + start.stdout).toBe(0)
    const {pid} = start.json
    daemons.push(pid)

    // The catch-up queued one scheduled run per deployment; wait for all five to end.
    let runs: any[] = []
    const deadline = Date.now() + 300_000
    for (;;) {
      const listed = await k2ops(['runs', '--home', homeDir, '--json', '--limit', '100'])
      expect(listed.exitCode, listed.stderr).toBe(0)
      runs = listed.json.runs.filter((run: {id: string}) => !run.id.startsWith('seed-'))
      const ended = runs.filter((run) => !['Scheduled', 'Running'].includes(run.state))
      if (ended.length >= 5) break
      if (Date.now() > deadline) throw new Error(`the five runs did not end: ${JSON.stringify(runs)}`)
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }

    // A warm driver is up now, and status tells without asking Spark.
    const status = await k2ops(['scheduler', 'status', '--home', homeDir, '--json'])
    expect(status.exitCode, status.stderr).toBe(0)
    expect(status.json).toMatchObject({state: 'running', pid, engine: {kind: 'spark', target: 'iceberg.market_data'}})
    expect(status.json.engine.sparkDrivers).toHaveLength(1)
    const driverPid = status.json.engine.sparkDrivers[0].pid
    expect(isProcessRunning(driverPid)).toBe(true)
    const human = await k2ops(['scheduler', 'status', '--home', homeDir])
    expect(human.stdout).toContain(`Engine: spark (iceberg.market_data); warm Spark driver up: pid ${driverPid}`)

    // Five Completed runs, one per flow, in timeframe order, by the daemon, on the Spark target.
    expect(runs.map((run) => [run.flow, run.state, run.trigger])).toEqual(
      TIMEFRAMES.map((tf) => [TIMEFRAME_SPECS[tf].flow, 'Completed', 'scheduled']).reverse(),
    )
    for (const run of runs) {
      expect(run, run.flow).toMatchObject({pid, warehouse: 'iceberg.market_data', note: expect.stringContaining('catch-up')})
      expect(run.candles, run.flow).toBeGreaterThan(0)
      expect(run.trades, run.flow).toBeGreaterThan(0)
    }

    // One at a time: each run started after the one before it ended.
    const inOrder = [...runs].reverse()
    for (let i = 1; i < inOrder.length; i++) expect(Date.parse(inOrder[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(inOrder[i - 1].endedAt))

    // The 1h candles hold every trade of their hour: the flows' window and late-trade logic ran on Spark.
    const candles = await k2ops(['candles', 'BTCUSDT', '--timeframe', '1h', '--limit', '100', '--home', homeDir, '--json'], env)
    expect(candles.exitCode, candles.stderr).toBe(0)
    const perHour = new Map<string, number>()
    for (const at of tape.tradeStarts.filter((ms) => ms < Date.parse('2024-08-09T00:00:00Z'))) {
      const hour = new Date(at - (at % 3_600_000)).toISOString().replace('.000Z', 'Z')
      perHour.set(hour, (perHour.get(hour) ?? 0) + 1)
    }

    expect(candles.json.candles.map((c: {window_start: string; trade_count: string}) => [c.window_start, Number(c.trade_count)])).toEqual([...perHour])
    const table = await k2ops(['candles', 'BTCUSDT', '--timeframe', '1d', '--home', homeDir], env)
    expect(table.exitCode, table.stderr).toBe(0)
    expect(table.stdout).toMatch(/^2024-08-07T00:00:00Z\s+BTCUSDT\s+BINANCE\s/m)
    expect(table.stdout).toMatch(/^2024-08-08T00:00:00Z\s+BTCUSDT\s+BINANCE\s/m)

    // stop ends the daemon, then the warm driver, and says so.
    const stop = await k2ops(['scheduler', 'stop', '--home', homeDir, '--json'])
    expect(stop.exitCode, stop.stderr).toBe(0)
    expect(stop.json).toMatchObject({wasRunning: true, pid, stopped: 'gracefully', sparkDrivers: {stopped: 1, pids: [driverPid], leftRunning: []}})
    expect(isProcessRunning(pid)).toBe(false)
    expect(isProcessRunning(driverPid)).toBe(false)

    const after = await k2ops(['scheduler', 'status', '--home', homeDir, '--json'])
    expect(after.json).toMatchObject({state: 'stopped', engine: {kind: 'spark', sparkDrivers: []}})
    const again = await k2ops(['scheduler', 'stop', '--home', homeDir])
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('The scheduler is not running.\nNo warm Spark driver was running.')
  })
})
