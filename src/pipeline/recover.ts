import type {Home} from './home.js'
import type {RunRecord} from './run-history.js'
import type {SchedulerClient} from './scheduler/api-client.js'
import type {OpenOptions, Warehouse} from './warehouse.js'

import {setTimeout as sleep} from 'node:timers/promises'

import {planBackfill} from './backfill.js'
import {loadDuckDB} from './duckdb-module.js'
import {ExitCode, K2Error} from './errors.js'
import {recomputeWindows} from './recompute.js'
import {SCHEMA_TABLES, TRADES_TABLE} from './schema.js'
import {MICROS_PER_DAY} from './time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe, floorToWindow} from './timeframes.js'
import {withWarehouse} from './warehouse.js'
import {plural} from './words.js'

// ---------------------------------------------------------------------------------------------
// Recovering from corrupted candles: which windows to rebuild, and rebuilding them.
// ---------------------------------------------------------------------------------------------

/** Windows of one timeframe to rebuild from the trades: window starts in [fromMicros, toMicros), aligned. */
export interface RecoverRange {
  timeframe: Timeframe
  fromMicros: number
  toMicros: number
  /** Why these windows: the checks that named them (`ohlc_bounds 1h`), or `requested`. */
  reasons: string[]
}

/** A range with what rebuilding it touches. */
export interface MeasuredRange extends RecoverRange {
  windows: number
  /** Candles stored in the range now: every one is deleted and rebuilt from the trades. */
  candles: number
  /** Trades in the range: what the rebuild reads. */
  trades: number
}

/** Window starts (µs) per timeframe, each with the reasons that named it. */
export type WindowsToRepair = Map<Timeframe, Map<number, Set<string>>>

/**
 * Coalesces windows into ranges per timeframe (adjacent windows make one range), in timeframe then
 * time order. Windows that have not closed at `now` are left out: the flows build those, and a
 * rebuild would add candles of windows still open.
 */
export function rangesFromWindows(windows: WindowsToRepair, nowMicros: number): RecoverRange[] {
  const ranges: RecoverRange[] = []
  for (const tf of TIMEFRAMES) {
    const size = TIMEFRAME_SPECS[tf].micros
    const closedBefore = floorToWindow(nowMicros, tf)
    const starts = [...(windows.get(tf)?.entries() ?? [])].filter(([start]) => start < closedBefore).sort(([a], [b]) => a - b)
    let current: RecoverRange | undefined
    for (const [start, reasons] of starts) {
      if (current && start === current.toMicros) {
        current.toMicros = start + size
        for (const reason of reasons) if (!current.reasons.includes(reason)) current.reasons.push(reason)
        continue
      }

      current = {timeframe: tf, fromMicros: start, toMicros: start + size, reasons: [...reasons]}
      ranges.push(current)
    }
  }

  return ranges
}

/** [from, to) aligned outwards to each timeframe's windows, without the windows not closed at `now`. */
export function requestedRanges(timeframes: Timeframe[], fromMicros: number, toMicros: number, nowMicros: number): RecoverRange[] {
  return planBackfill(timeframes, fromMicros, toMicros, nowMicros).ranges.map((range) => ({...range, reasons: ['requested']}))
}

/** The span that holds every range, or undefined when there are none. */
export function rangesSpan(ranges: RecoverRange[]): {fromMicros: number; toMicros: number} | undefined {
  if (ranges.length === 0) return undefined
  return {fromMicros: Math.min(...ranges.map((r) => r.fromMicros)), toMicros: Math.max(...ranges.map((r) => r.toMicros))}
}

/** Counts, per range, the stored candles a rebuild deletes and the trades it reads (one query per timeframe). */
export async function measureRanges(warehouse: Warehouse, ranges: RecoverRange[]): Promise<MeasuredRange[]> {
  const {listValue} = loadDuckDB()
  const measured: MeasuredRange[] = []
  for (const tf of TIMEFRAMES) {
    const own = ranges.filter((range) => range.timeframe === tf)
    if (own.length === 0) continue
    await warehouse.run('CREATE OR REPLACE TEMP TABLE k2_recover_ranges AS SELECT unnest($lo::BIGINT[]) AS lo, unnest($hi::BIGINT[]) AS hi', {
      lo: listValue(own.map((range) => BigInt(range.fromMicros))),
      hi: listValue(own.map((range) => BigInt(range.toMicros))),
    })
    const rows = await warehouse.all<{lo: bigint; candles: bigint; trades: bigint}>(
      `SELECT r.lo,
              (SELECT count(*) FROM ${TIMEFRAME_SPECS[tf].table} c WHERE c.window_start >= make_timestamp(r.lo) AND c.window_start < make_timestamp(r.hi)) AS candles,
              (SELECT count(*) FROM ${TRADES_TABLE} t WHERE t."timestamp" >= r.lo AND t."timestamp" < r.hi) AS trades
       FROM k2_recover_ranges r`,
    )
    await warehouse.run('DROP TABLE k2_recover_ranges')
    const byStart = new Map(rows.map((row) => [Number(row.lo), row]))
    for (const range of own) {
      const row = byStart.get(range.fromMicros)
      measured.push({
        ...range,
        windows: (range.toMicros - range.fromMicros) / TIMEFRAME_SPECS[tf].micros,
        candles: Number(row?.candles ?? 0),
        trades: Number(row?.trades ?? 0),
      })
    }
  }

  return measured
}

/**
 * The transactions of a repair: each range, cut at UTC midnights so that a month-long --from/--to
 * never becomes one huge transaction (every timeframe divides a day, so no window is cut).
 */
export function repairPieces(ranges: RecoverRange[]): RecoverRange[] {
  const pieces: RecoverRange[] = []
  for (const range of ranges) {
    for (let from = range.fromMicros; from < range.toMicros; ) {
      const to = Math.min(range.toMicros, (Math.floor(from / MICROS_PER_DAY) + 1) * MICROS_PER_DAY)
      pieces.push({...range, fromMicros: from, toMicros: to})
      from = to
    }
  }

  return pieces
}

export interface PieceResult {
  /** Candles written (one per window with trades). */
  candles: number
  /** Stored candles of windows without trades, removed. */
  removed: number
  trades: number
}

/**
 * Deletes the candles of one piece and rebuilds them from the trades, in one transaction: an
 * interruption leaves the piece as it was or repaired, never half of it. Candles whose values come
 * out the same keep created_at and updated_at (recomputeWindows), so they stay byte-identical.
 */
export async function repairPiece(warehouse: Warehouse, piece: RecoverRange, nowMicros: number): Promise<PieceResult> {
  return warehouse.transaction(() => recomputeWindows(warehouse, piece.timeframe, {kind: 'range', fromMicros: piece.fromMicros, toMicros: piece.toMicros}, nowMicros))
}

// ---------------------------------------------------------------------------------------------
// Full pipeline recovery (complete outage): the steps the command lists, one function each.
// ---------------------------------------------------------------------------------------------

export type FullStepName = 'stop-scheduler' | 'warehouse-integrity' | 'start-scheduler' | 'scheduler-api' | 'run-1m' | 'health-daily'

/** One step of the full recovery: what it does, its result (one line), and what to do when it fails. */
export interface RecoveryStep {
  name: FullStepName
  title: string
  /** Runs the step and returns its result; `report` shows progress while it waits. */
  run: (report: (line: string) => void) => Promise<string>
  /** What to do next when the step failed with `error`. */
  next: (error: Error) => string
}

export interface FullRecoveryOptions {
  cli: CliContext
  /** How the integrity step opens the warehouse (read-write). */
  openOptions: OpenOptions
  /** How long the 1m run may take, queue included. */
  runTimeoutMs: number
  /** Seconds a running flow may take to finish when the scheduler is stopped. */
  stopTimeoutSeconds: number
}

/**
 * The runbook's full pipeline recovery, in its order: stop the scheduler, check the warehouse, start
 * the scheduler, check its API and deployments, run the 1m flow through it. Each step depends on the
 * ones before: run them in order and stop at the first that fails. (`health daily` comes last; it is
 * a check, added by the command.)
 */
export class FullRecovery {
  scheduler?: StartOutcome
  run?: RunRecord
  private connection?: SchedulerConnection

  constructor(private readonly options: FullRecoveryOptions) {}

  steps(): RecoveryStep[] {
    const {cli, openOptions} = this.options
    const {home} = cli
    const again = 'then run k2ops recover --full again'
    return [
      {
        name: 'stop-scheduler',
        title: 'Stop the scheduler',
        next: () => `k2ops scheduler status shows the process; stop it by hand (its pid is in ${home.stateDir}/scheduler.json), ${again}`,
        run: async () => {
          const stop = await stopScheduler(cli, this.options.stopTimeoutSeconds)
          if (stop.stalePidFile) return `not running; removed the pid file left by pid ${stop.pid}`
          return stop.wasRunning ? `stopped pid ${stop.pid} (${stop.stopped})` : 'not running'
        },
      },
      {
        name: 'warehouse-integrity',
        title: 'Check the warehouse: open, CHECKPOINT, read every block',
        next: (error) =>
          error instanceof K2Error && error.exit === ExitCode.busy
            ? `wait for the process named above to finish, ${again}`
            : `restore ${home.warehouse} from a backup, or move it aside and rebuild it (k2ops init, k2ops ingest TAPES..., k2ops backfill --timeframe all --from FIRST_DAY); ${again}`,
        run: async () => {
          const report = await verifyWarehouse(home.warehouse, openOptions)
          const rows = report.tables.reduce((sum, table) => sum + table.rows, 0)
          return `${plural(report.tables.length, 'table')}, ${plural(rows, 'row')} read back in ${report.durationMs} ms`
        },
      },
      {
        name: 'start-scheduler',
        title: 'Start the scheduler',
        next: () => `see ${home.logsDir}/scheduler.out and k2ops scheduler logs, fix the cause, ${again}`,
        run: async () => {
          this.scheduler = await startScheduler(cli)
          return `pid ${this.scheduler.pid}, API http://127.0.0.1:${this.scheduler.port}`
        },
      },
      {
        name: 'scheduler-api',
        title: 'Check the scheduler API and the five deployments',
        next: () => `k2ops scheduler status and k2ops scheduler logs; check the deployments in ${home.configFile}, ${again}`,
        run: async () => {
          const api = await checkSchedulerApi(home)
          this.connection = api.client
          const paused = api.deployments.filter((d) => d.paused).map((d) => d.name)
          return `/api/health answered (k2ops ${api.version}); ${plural(api.deployments.length, 'deployment')}${paused.length > 0 ? `, paused: ${paused.join(', ')}` : ''}`
        },
      },
      {
        name: 'run-1m',
        title: `Run ${TIMEFRAME_SPECS['1m'].flow} through the scheduler`,
        next: () => 'k2ops runs --flow 1m and k2ops scheduler logs show why; the scheduler keeps running and retries on its schedule',
        run: async (report) => {
          if (!this.connection) throw new K2Error('no scheduler API to run the flow through', {code: 'scheduler_not_running', exit: ExitCode.failed})
          this.run = await runThroughScheduler(this.connection, TIMEFRAME_SPECS['1m'].deployment, this.options.runTimeoutMs, (run) => report(`run ${run.id}: ${run.state}`))
          return `run ${this.run.id} Completed in ${this.run.durationMs ?? '?'} ms (${plural(this.run.candles ?? 0, 'candle')})`
        },
      },
    ]
  }
}

/** What a k2ops child process of this command needs: the CLI's entry point and the home. */
export interface CliContext {
  /** bin/run.js of this installation (process.argv[1]). */
  bin: string
  home: Home
}

export interface StopOutcome {
  wasRunning: boolean
  pid: number | null
  stopped: 'gracefully' | 'killed' | null
  /** A pid file left by a dead scheduler was removed. */
  stalePidFile: boolean
}

/**
 * Stops the scheduler of the home the way `k2ops scheduler stop` does (its API, else SIGTERM; killed
 * after the timeout; a pid file left by a dead daemon is removed) — by running that command.
 */
export async function stopScheduler(cli: CliContext, timeoutSeconds: number): Promise<StopOutcome> {
  const result = await runCli<{wasRunning: boolean; pid: number | null; stopped: StopOutcome['stopped']}>(cli, ['scheduler', 'stop', '--timeout', String(timeoutSeconds)], (timeoutSeconds + 30) * 1000)
  return {...result, stalePidFile: !result.wasRunning && result.pid !== null}
}

export interface IntegrityReport {
  tables: Array<{table: string; rows: number}>
  durationMs: number
}

/**
 * DuckDB has no `PRAGMA integrity_check`. What it does have: opening read-write replays the WAL,
 * CHECKPOINT writes it into the file, and every block read from the file is checked against its
 * stored checksum ("Corrupt database file: computed checksum … does not match"). So: open, check
 * the schema, CHECKPOINT, then read every column of every table to its last row.
 */
export async function verifyWarehouse(path: string, options: OpenOptions): Promise<IntegrityReport> {
  const started = Date.now()
  return withWarehouse(path, options, async (warehouse) => {
    const present = new Set(
      (await warehouse.all<{name: string}>(`SELECT schema_name || '.' || table_name AS name FROM duckdb_tables() WHERE database_name = current_database()`)).map((row) => row.name),
    )
    const missing = SCHEMA_TABLES.filter((table) => !present.has(table))
    if (missing.length > 0) {
      throw new K2Error(`${path}: the warehouse lacks ${missing.join(', ')}`, {code: 'warehouse_schema', exit: ExitCode.failed})
    }

    try {
      await warehouse.run('CHECKPOINT')
      const tables: IntegrityReport['tables'] = []
      for (const table of SCHEMA_TABLES) {
        // hash() of every value of every column: DuckDB reads (and checksums) each block of the table.
        const row = await warehouse.one<{rows: bigint}>(`SELECT count(*) AS rows, bit_xor(hash(COLUMNS(*))) FROM ${table}`)
        tables.push({table, rows: Number(row.rows)})
      }

      return {tables, durationMs: Date.now() - started}
    } catch (error) {
      throw new K2Error(`${path}: ${firstLine((error as Error).message)}`, {code: 'warehouse_corrupt', exit: ExitCode.failed, cause: error})
    }
  })
}

export interface StartOutcome {
  pid: number
  port: number
}

/** Starts the scheduler as `k2ops scheduler start` does: a detached daemon that outlives this command. */
export async function startScheduler(cli: CliContext): Promise<StartOutcome> {
  const result = await runCli<{pid: number; port: number}>(cli, ['scheduler', 'start'], 60_000)
  return {pid: result.pid, port: result.port}
}

export interface ApiOutcome {
  version: string
  pid: number
  deployments: Array<{name: string; paused: boolean; nextRun: string | null}>
}

/** The daemon's API answers /api/health and lists the five deployments of the runbook. */
export async function checkSchedulerApi(home: Home): Promise<ApiOutcome & {client: SchedulerConnection}> {
  const client = await schedulerConnection(home)
  const health = await client.api.health()
  const {deployments} = await client.api.deployments()
  const expected = TIMEFRAMES.map((tf) => TIMEFRAME_SPECS[tf].deployment)
  const missing = expected.filter((name) => !deployments.some((d) => d.name === name))
  if (missing.length > 0) {
    throw new K2Error(`the scheduler has ${plural(deployments.length, 'deployment')}; missing: ${missing.join(', ')}`, {code: 'deployments_missing', exit: ExitCode.failed})
  }

  return {
    version: health.version,
    pid: health.pid,
    deployments: deployments.map((d) => ({name: d.name, paused: d.paused, nextRun: d.nextRun})),
    client,
  }
}

export interface SchedulerConnection {
  port: number
  api: SchedulerClient
}

async function schedulerConnection(home: Home): Promise<SchedulerConnection> {
  const {daemonFiles, readToken, runningDaemon} = await import('./scheduler/daemon-files.js')
  const {SchedulerClient} = await import('./scheduler/api-client.js')
  const files = daemonFiles(home.stateDir, home.logsDir)
  const daemon = runningDaemon(files.stateFile)
  if (!daemon?.port) throw new K2Error('no scheduler runs on this home', {code: 'scheduler_not_running', exit: ExitCode.failed})
  return {port: daemon.port, api: new SchedulerClient(daemon.port, readToken(files.tokenFile))}
}

/**
 * Queues a run of `deployment` in the daemon and waits until it ends (queued runs wait for the ones
 * before them, e.g. catch-up runs after downtime). A run that ends in any state but Completed, or
 * not within `timeoutMs`, is an error.
 */
export async function runThroughScheduler(connection: SchedulerConnection, deployment: string, timeoutMs: number, onState?: (run: RunRecord) => void): Promise<RunRecord> {
  const {FINAL_STATES} = await import('./run-history.js')
  let run = (await connection.api.run(deployment)).flow_run
  const deadline = Date.now() + timeoutMs
  let seen: string | undefined
  while (!FINAL_STATES.has(run.state)) {
    if (run.state !== seen) onState?.(run)
    seen = run.state
    if (Date.now() > deadline) {
      throw new K2Error(`run ${run.id} of ${run.flow} did not end within ${Math.round(timeoutMs / 1000)} s (state ${run.state})`, {code: 'run_timeout', exit: ExitCode.failed})
    }

    await sleep(250)
    run = (await connection.api.flowRun(run.id)).flow_run
  }

  if (run.state !== 'Completed') {
    throw new K2Error(`${run.flow} run ${run.id} ended ${run.state}${run.error ? `: ${run.error}` : ''}`, {code: 'run_failed', exit: ExitCode.failed})
  }

  return run
}

/** Runs `k2ops ARGS --json` on the same home and warehouse; its JSON error becomes a K2Error. */
async function runCli<T>(cli: CliContext, args: string[], timeoutMs: number): Promise<T> {
  const {execFile} = await import('node:child_process')
  const argv = [cli.bin, ...args, '--home', cli.home.dir, '--warehouse', cli.home.warehouse, '--json']
  const {code, stdout, stderr} = await new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
    execFile(process.execPath, argv, {env: {...process.env, NO_COLOR: '1'}, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024}, (error, out, err) => {
      const exit = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({code: exit, stdout: String(out), stderr: String(err)})
    })
  })
  let parsed: unknown
  try {
    parsed = JSON.parse(stdout)
  } catch {
    parsed = undefined
  }

  if (code === 0 && parsed !== undefined) return parsed as T
  const failure = (parsed as {error?: {message?: string; suggestions?: string[]; code?: string}} | undefined)?.error
  const message = failure?.message ?? (firstLine(stderr.trim()) || `exit ${code}`)
  throw new K2Error(`k2ops ${args.join(' ')}: ${message}`, {code: failure?.code ?? 'child_failed', exit: ExitCode.failed, hint: failure?.suggestions?.[0]})
}

function firstLine(text: string): string {
  return text.split('\n')[0]
}
