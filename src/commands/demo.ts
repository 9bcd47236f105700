import {Flags} from '@oclif/core'
import {existsSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import type {EngineSummary} from '../pipeline/engine/engine.js'

import {BaseCommand} from '../base-command.js'
import {CheckStatus, plural, worstStatus} from '../checks/check.js'
import {updateConfigFile} from '../pipeline/config-file.js'
import {ExitCode, UsageError} from '../pipeline/errors.js'
import {retentionKeptFrom} from '../pipeline/retention-policy.js'
import {RunHistory, RunRecord} from '../pipeline/run-history.js'
import {formatMicros} from '../pipeline/time.js'
import {TIMEFRAMES} from '../pipeline/timeframes.js'
import {engineTarget, withEngine} from '../pipeline/engine/index.js'
import {renderRuns} from '../render/runs.js'
import {renderTable} from '../render/table.js'
import {runTasks} from '../render/tasks.js'

export interface DemoResult {
  home: string
  warehouse: string
  trades: number
  lateTrades: number
  markets: Array<{exchange: string; symbol: string; trades: number; from: string; to: string}>
  candles: Record<string, number>
  runs: RunRecord[]
  /** The daily health check's verdict on the demo warehouse. */
  health: {status: CheckStatus; checks: number; notPassing: string[]}
  next: string[]
}

const DEMO_MARKER = '.k2ops-demo'

/** Wipes a previous demo home; refuses any other directory that holds something. */
function resetDemoHome(dir: string): void {
  if (!existsSync(dir)) return
  const entries = readdirSync(dir)
  if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
    throw new UsageError(`${dir} holds files and is not a demo home: the demo wipes its home, so give it a new or empty directory (--home)`, {code: 'not_a_demo_home'})
  }

  rmSync(dir, {recursive: true, force: true})
}

export default class Demo extends BaseCommand<typeof Demo> {
  static override summary = 'Quick start: synthetic trades in a throwaway home, all five flows, a late batch, then what was made.'
  static override description = `Generates realistic trades (six markets on two exchanges: random-walk prices, bursty arrivals, same-millisecond ties, meme-coin sizes) for the four days before now, ingests them, runs the five candle flows, then ingests a batch of late trades (four days old, older than every flow's lookback) and runs the flows again so the late windows are rebuilt. The demo home (<data dir>/demo, or --home) is wiped and made again on every run; the demo refuses a --home that holds anything but an earlier demo, and ignores K2OPS_HOME.`
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --trades 1000000', '<%= config.bin %> demo --home ./demo-home --json']

  static override flags = {
    trades: Flags.integer({summary: 'How many synthetic trades to generate.', default: 200_000, min: 100, max: 100_000_000}),
    seed: Flags.integer({summary: 'Seed of the generator (same seed, same trades).', default: 42}),
  }

  async run(): Promise<DemoResult> {
    resetDemoHome(this.demoHome)
    const {dir: home} = this.home
    writeFileSync(join(home, DEMO_MARKER), 'made by k2ops demo; the next demo run wipes this directory\n')
    // A Spark demo home stays one for the commands it suggests next (they name only --home).
    if (this.home.engine === 'spark') updateConfigFile(this.home.configFile, (config) => void (config.engine = 'spark'))
    const now = this.now()
    const history = new RunHistory(this.home.runHistoryFile)
    const runs: RunRecord[] = []
    // The tapes are Parquet files, written with DuckDB whichever engine then ingests them.
    const {writeDemoTapes} = await import('../pipeline/engine/duckdb/demo.js')
    const {runFlow} = await import('../pipeline/flows.js')
    const context = {lateTrades: 0}
    const keptFrom = retentionKeptFrom(this.home, now)
    await withEngine(this.home, this.warehouseOptions('demo', true), async (engine) => {
      await engine.ensureSchema()
      const ingestOptions = {format: 'k2' as const, rejectsDir: join(home, 'rejects'), nowMicros: now}
      const runAll = async (label: string) => {
        for (const tf of TIMEFRAMES) {
          const run = await runFlow(engine, history, tf, {trigger: 'demo', nowMicros: now, retention: keptFrom[tf]})
          runs.push(run.record)
          if (!run.result) throw new Error(`${run.record.flow} failed (${label}): ${run.record.error}`)
        }
      }

      let tapes: Awaited<ReturnType<typeof writeDemoTapes>>
      await runTasks(
        [
          {
            title: `Generate ${this.flags.trades.toLocaleString('en-US')} synthetic trades`,
            task: async () => {
              tapes = await writeDemoTapes(join(home, 'tapes'), {trades: this.flags.trades, nowMicros: now, seed: this.flags.seed})
            },
          },
          {title: 'Ingest the trade tape', task: async () => void (await engine.ingestFile(tapes.main, ingestOptions))},
          {title: 'Run the five candle flows', task: () => runAll('first pass')},
          {
            title: 'Ingest late trades (four days old) and run the flows again',
            task: async (_, task) => {
              const late = await engine.ingestFile(tapes.late, {...ingestOptions, nowMicros: now + 1})
              context.lateTrades = late.inserted
              await runAll('late pass')
              task.title = `Ingested ${late.inserted} late trades (${formatMicros(tapes.lateFromMicros)} → ${formatMicros(tapes.lateToMicros)}) and rebuilt their windows`
            },
          },
        ],
        {json: this.jsonEnabled(), context: {}},
      )
      Object.assign(context, await engine.summarize())
    })
    const health = await this.healthCheck(now)
    const summary = context as typeof context & EngineSummary
    const homeFlag = `--home ${home}`
    const next = [
      `k2ops candles BTCUSDT --exchange BINANCE --timeframe 5m ${homeFlag}`,
      `k2ops health daily ${homeFlag}`,
      `k2ops trigger all ${homeFlag}`,
      `k2ops backfill --timeframe 1h --from -1d ${homeFlag}`,
    ]
    const result: DemoResult = {home, warehouse: engineTarget(this.home), trades: summary.trades, lateTrades: summary.lateTrades, markets: summary.markets, candles: summary.candles, runs, health, next}
    if (!this.jsonEnabled()) this.display(result)
    if (runs.some((run) => run.state !== 'Completed') || health.status === 'fail') process.exitCode = ExitCode.failed
    return result
  }

  /** The daily health check over the demo, as its last step: the verdict and what did not pass. */
  private async healthCheck(now: number): Promise<DemoResult['health']> {
    const {HealthDaily} = await import('../checks/health-daily.js')
    const {resolveThresholds} = await import('../checks/thresholds.js')
    const procedure = new HealthDaily({
      stateDir: this.home.stateDir,
      logsDir: this.home.logsDir,
      home: this.home,
      openOptions: this.warehouseOptions('demo health check'),
      runs: new RunHistory(this.home.runHistoryFile).list(),
      thresholds: resolveThresholds(this.home.config.thresholds, `${this.home.configFile}: thresholds`),
      nowMicros: now,
      limit: 5,
    })
    let checks: Awaited<ReturnType<typeof procedure.runAll>> = []
    await runTasks(
      [
        {
          title: 'Daily health check',
          task: async (_, task) => {
            checks = await procedure.runAll()
            task.title = `Daily health check: ${worstStatus(checks.map((check) => check.status))}`
          },
        },
      ],
      {json: this.jsonEnabled(), context: {}},
    )
    const notPassing = checks.filter((check) => check.status !== 'pass').map((check) => `${check.name}${check.timeframe ? ` ${check.timeframe}` : ''} ${check.status}`)
    return {status: worstStatus(checks.map((check) => check.status)), checks: checks.length, notPassing}
  }

  /** Only an explicit --home moves the demo: K2OPS_HOME is the user's real home, never the demo's. */
  private get demoHome(): string {
    const explicit = this.argv.some((arg) => arg === '--home' || arg.startsWith('--home='))
    return explicit && this.flags.home ? resolve(this.flags.home) : join(this.config.dataDir, 'demo')
  }

  protected override homeOverride(): string {
    return this.demoHome
  }

  private display(result: DemoResult): void {
    this.log(`Demo home ${result.home} (throwaway; made again on every demo run)`)
    this.log('')
    this.log(renderTable(['EXCHANGE', 'SYMBOL', 'TRADES', 'FROM', 'TO'], result.markets.map((m) => [m.exchange, m.symbol, m.trades, m.from, m.to]), {alignRight: [2]}))
    this.log('')
    this.log(`Candles: ${TIMEFRAMES.map((tf) => `${tf} ${result.candles[tf]}`).join(', ')}`)
    this.log('')
    this.log('Second pass (after the late batch):')
    this.log(renderRuns(result.runs.slice(-TIMEFRAMES.length)))
    this.log('')
    const notPassing = result.health.notPassing.length > 0 ? `: ${result.health.notPassing.join(', ')}` : ''
    this.log(`Daily health check: ${result.health.status} (${plural(result.health.checks, 'check')}${notPassing})`)
    this.log('')
    this.log('Look at it:')
    for (const command of result.next) this.log(`  ${command}`)
  }
}
