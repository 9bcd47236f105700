import type {Home} from '../pipeline/home.js'
import type {KeptFrom} from '../pipeline/retention-policy.js'
import type {RunRecord} from '../pipeline/run-history.js'
import type {CheckQueries} from '../pipeline/engine/check-queries.js'
import type {Engine, EngineOpenOptions} from '../pipeline/engine/engine.js'
import type {StorageSize} from './storage.js'

import {K2Error, WarehouseBusyError} from '../pipeline/errors.js'
import {MICROS_PER_DAY} from '../pipeline/time.js'
import {TIMEFRAMES} from '../pipeline/timeframes.js'
import {CheckResult, checkResult} from './check.js'
import {Thresholds} from './thresholds.js'

export interface HealthDailyOptions {
  /** The home's state and logs directories: the scheduler's pid file and log. */
  stateDir: string
  logsDir: string
  /** The home whose engine the warehouse checks query. */
  home: Home
  openOptions: EngineOpenOptions
  runs: RunRecord[]
  thresholds: Thresholds
  /** Each timeframe's retention cutoff (freshness and gaps leave alone what retention deletes). */
  keptFrom?: KeptFrom
  nowMicros: number
  limit: number
}

/** One step of the daily procedure: a title for the task list, and the checks it runs. */
export interface HealthStep {
  title: string
  run: () => Promise<CheckResult[]>
}

/**
 * The runbook's daily health check as a list of steps, in its order: the scheduler, the flows, then the
 * warehouse (opened once, read-only: freshness, the last day's invariants, gaps and reconcile, the
 * source), then storage. A busy warehouse skips its steps instead of hanging the report.
 */
export class HealthDaily {
  /** Another process held the warehouse: its steps were skipped. */
  busy = false
  /** The open warehouse session the warehouse steps query. */
  private session?: Pick<Engine, 'checks' | 'close' | 'storageBytes' | 'target'>
  /** Why the warehouse could not be opened. */
  private openFailure?: K2Error
  /** Each warehouse step's checks, and their answers once asked (when the warehouse opened). */
  private readonly works = new Map<string, (queries: CheckQueries) => Promise<CheckResult[]>>()
  private readonly asked = new Map<string, Promise<CheckResult[]>>()
  /** The warehouse's size, asked with the checks (Spark: in their request). */
  private bytes?: Promise<number>
  /** Each warehouse step's results, for the coverage check after them. */
  private readonly families = new Map<string, CheckResult[]>()

  constructor(private readonly options: HealthDailyOptions) {}

  steps(): HealthStep[] {
    const {nowMicros, limit, thresholds, keptFrom} = this.options
    const dayAgo = nowMicros - MICROS_PER_DAY
    return [
      {title: 'Scheduler process and API', run: async () => (await import('./scheduler.js')).schedulerChecks({stateDir: this.options.stateDir, logsDir: this.options.logsDir})},
      {title: 'Flow runs, last 24 h', run: async () => (await import('./runs.js')).runChecks({runs: this.options.runs, thresholds, nowMicros, limit})},
      {title: 'Open the warehouse (read-only)', run: async () => [await this.open()]},
      this.warehouseStep('Freshness', 'freshness', async (queries) => (await import('./freshness.js')).freshnessChecks(queries, {timeframes: [...TIMEFRAMES], thresholds, keptFrom, nowMicros, limit})),
      this.warehouseStep('Candle invariants and rollups, last day', 'validate', async (queries) =>
        (await import('./invariants.js')).validateChecks(queries, {timeframes: [...TIMEFRAMES], fromMicros: dayAgo, nowMicros, limit}),
      ),
      this.warehouseStep('Missing candles, last day', 'gaps', async (queries) =>
        (await import('./gaps.js')).gapsChecks(queries, {timeframes: [...TIMEFRAMES], fromMicros: dayAgo, toMicros: nowMicros, thresholds, keptFrom, nowMicros, limit}),
      ),
      this.warehouseStep('Candles vs trades, last day', 'reconcile', async (queries) =>
        (await import('./reconcile.js')).reconcileChecks(queries, {timeframes: [...TIMEFRAMES], fromMicros: dayAgo, toMicros: nowMicros, nowMicros, limit}),
      ),
      this.warehouseStep('Source trades', 'inspect trades', async (queries) =>
        // Duplicate ids over the day; identical fills (a warning-level hint) over the last hour, as the runbook checks them.
        (await import('./source-trades.js')).sourceTradeChecks(queries, {sinceMicros: dayAgo, fillsSinceMicros: nowMicros - 3_600_000_000, thresholds, nowMicros, limit}),
      ),
      {
        title: 'Checks over nothing',
        run: async () => {
          if (!this.session) return []
          const {coverageCheck} = await import('./coverage.js')
          const trades = this.families.get('inspect trades')?.find((check) => check.name === 'trade_values')?.checked ?? 0
          const windowed = ['validate', 'gaps', 'reconcile'].map((family) => ({family, checks: this.families.get(family) ?? []}))
          return [coverageCheck(windowed, trades)]
        },
      },
      {
        title: 'Storage',
        run: async () => {
          const size = await this.storageSize()
          await this.close()
          const {storageFolder} = await import('../pipeline/engine/index.js')
          return (await import('./storage.js')).storageChecks({size, disk: storageFolder(this.options.home), thresholds, limit})
        },
      },
    ]
  }

  /** Every step in order, without a task list (for callers that show only the verdict). */
  async runAll(): Promise<CheckResult[]> {
    const results: CheckResult[] = []
    try {
      for (const step of this.steps()) results.push(...(await step.run()))
    } finally {
      await this.close()
    }

    return results
  }

  /** Closes the warehouse if a step left it open (after the last warehouse step, or on an error). */
  async close(): Promise<void> {
    const session = this.session
    this.session = undefined
    await session?.close()
  }

  /** The size as the open engine counts it; without one, what the warehouse takes at rest, or why it is not known. */
  private async storageSize(): Promise<StorageSize> {
    const {engineTarget, storageAtRest} = await import('../pipeline/engine/index.js')
    const {home} = this.options
    if (this.session) return {bytes: await (this.bytes ?? this.session.storageBytes()), target: this.session.target}
    const bytes = storageAtRest(home)
    if (bytes !== undefined) return {bytes, target: engineTarget(home)}
    const failure = this.openFailure
    if (failure?.code === 'no_warehouse') return {missing: failure.message, hint: 'k2ops init'}
    if (failure) return {missing: `${failure.message}: the size of ${engineTarget(home)} is not known`, hint: failure.hint ?? null}
    return {missing: `no warehouse at ${engineTarget(home)}`, hint: 'k2ops init'}
  }

  /** A step of warehouse checks: asked for when the warehouse opens, together with the others; the step waits for its answer. */
  private warehouseStep(title: string, family: string, work: (queries: CheckQueries) => Promise<CheckResult[]>): HealthStep {
    this.works.set(family, work)
    return {
      title,
      run: async () => {
        const asked = this.asked.get(family)
        if (!asked) return []
        const results = await asked
        this.families.set(family, results)
        return results
      },
    }
  }

  /**
   * Asks every warehouse check for its figures at once, their modules loaded first so that all of
   * them ask in the same turn of the event loop: an engine may answer them together (Spark: one request).
   */
  private async askWarehouseChecks(queries: CheckQueries): Promise<void> {
    await Promise.all([import('./freshness.js'), import('./invariants.js'), import('./gaps.js'), import('./reconcile.js'), import('./source-trades.js')])
    for (const [family, work] of this.works) {
      const asked = work(queries)
      // Its step reports a failure; until then it must not count as unhandled.
      asked.catch(() => {})
      this.asked.set(family, asked)
    }

    this.bytes = this.session?.storageBytes()
    this.bytes?.catch(() => {})
  }

  private async open(): Promise<CheckResult> {
    const started = Date.now()
    try {
      this.session = await (await import('../pipeline/engine/index.js')).openEngine(this.options.home, {...this.options.openOptions, readOnly: true})
      await this.askWarehouseChecks(this.session.checks)
      return checkResult({name: 'warehouse_access', status: 'pass', summary: `opened read-only in ${Date.now() - started} ms`, value: Date.now() - started, unit: 'ms'})
    } catch (error) {
      if (!(error instanceof K2Error)) throw error
      this.openFailure = error
      this.busy = error instanceof WarehouseBusyError
      return checkResult({
        name: 'warehouse_access',
        status: this.busy ? 'warn' : 'fail',
        summary: `${error.message}: the warehouse checks were skipped`,
        unit: 'ms',
        hint: error.hint ?? null,
      })
    }
  }
}

