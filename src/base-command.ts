import {Command, Errors, Flags, Interfaces} from '@oclif/core'

import type {EngineOpenOptions} from './pipeline/engine/engine.js'

import {addedColumnMissing} from './pipeline/engine/added-columns.js'
import {diskFullError} from './disk-full.js'
import {ExitCode, K2Error} from './pipeline/errors.js'
import {Home, resolveHome} from './pipeline/home.js'
import {nowMicros} from './pipeline/time.js'
import {describeParseError} from './parse-errors.js'
import {REPLACED_FLAGS, TimeWindow, TimeWindowInput, TimeWindowOptions, resolveTimeWindow} from './time-window-flags.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

export interface ErrorJson {
  error: {code: string; exit: number; message: string; suggestions: string[]}
}

/**
 * What every k2ops command shares: `--json`, the home/warehouse flags, the command's clock, and
 * the exit codes of the README (oclif would turn every `--json` failure into exit 1).
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    home: Flags.string({
      summary: 'k2ops home: config, warehouse, run history, logs (private, 0700).',
      env: 'K2OPS_HOME',
      helpGroup: 'GLOBAL',
    }),
    warehouse: Flags.string({
      summary: 'Warehouse file (default <home>/warehouse.duckdb).',
      env: 'K2OPS_WAREHOUSE',
      helpGroup: 'GLOBAL',
    }),
    // K2OPS_ENGINE is read with the config file's rules (resolveHome), so an error names the variable.
    engine: Flags.option({
      summary: 'Engine that holds the trades and candles: duckdb (embedded) or spark (Spark SQL on Iceberg tables) (env: K2OPS_ENGINE; default duckdb).',
      options: ['duckdb', 'spark'] as const,
      helpGroup: 'GLOBAL',
    })(),
    // K2OPS_LOCK_TIMEOUT is read with the config file's rules (resolveHome), so an error names the variable.
    'lock-timeout': Flags.integer({
      summary: 'Seconds to wait for a warehouse held by another k2ops process before exiting 4 (env: K2OPS_LOCK_TIMEOUT).',
      min: 0,
      helpGroup: 'GLOBAL',
    }),
  }

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** Every positional argument, for commands that take several (strict = false). */
  protected positionals: string[] = []
  private resolvedHome?: Home

  public override async init(): Promise<void> {
    await super.init()
    const {args, argv, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.positionals = argv.map(String)
  }

  /** Flags > K2OPS_* > config file > defaults, resolved once per command. */
  protected get home(): Home {
    this.resolvedHome ??= resolveHome({
      home: this.homeOverride() ?? this.flags.home,
      warehouse: this.flags.warehouse,
      lockTimeoutSeconds: this.flags['lock-timeout'],
      engine: this.flags.engine,
      defaultDir: this.config.dataDir,
    })
    return this.resolvedHome
  }

  /** A command with a home of its own (the demo's) returns it here. */
  protected homeOverride(): string | undefined {
    return undefined
  }

  /** The command's clock in µs (K2OPS_NOW replaces it). */
  protected now(): number {
    return nowMicros()
  }

  /** --from/--to/--lookback (and their deprecated spellings) as µs; notes go to stderr, even under --json. */
  protected timeWindow(options: Omit<TimeWindowOptions, 'nowMicros' | 'note'>, now = this.now()): TimeWindow {
    return resolveTimeWindow(this.flags as TimeWindowInput, {...options, nowMicros: now, note: (line) => process.stderr.write(`k2ops: ${line}\n`)})
  }

  protected get interactive(): boolean {
    return Boolean(process.stdout.isTTY) && !this.jsonEnabled()
  }

  protected warehouseOptions(operation: string, create = false): EngineOpenOptions {
    const home = this.home
    return {operation, lockTimeoutMs: home.lockTimeoutMs, memoryLimit: home.memoryLimit, threads: home.threads, create}
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string}): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err
    // A warehouse made by an earlier k2ops that lacks a column added since: told as `run k2ops init`.
    const home = this.resolvedHome
    const outdated = addedColumnMissing(err, home?.engine === 'spark' ? `${home.spark.catalog.name}.${home.spark.namespace}` : (home?.warehouse ?? 'the warehouse')) as typeof err
    const failure = describeFailure(diskFullError(outdated, home?.dir) ?? outdated, this.commandName, this.flagNames())
    process.exitCode = failure.exit
    if (this.jsonEnabled()) {
      this.logJson({error: {code: failure.code, exit: failure.exit, message: failure.message, suggestions: failure.suggestions ?? (failure.hint ? [failure.hint] : [])}} satisfies ErrorJson)
    } else {
      this.logToStderr(`k2ops: ${failure.message}`)
      if (failure.hint) this.logToStderr(`hint: ${failure.hint}`)
      if (failure.exit === ExitCode.failed && !(err instanceof K2Error) && process.env.DEBUG) this.logToStderr(err.stack ?? '')
    }

    throw new Errors.ExitError(failure.exit)
  }

  /** `backfill`, `health daily`: as the user types it. */
  private get commandName(): string {
    return (this.id ?? this.ctor.id ?? 'k2ops').replaceAll(':', ' ')
  }

  /** Every flag this command takes, long names and aliases, for "did you mean". */
  private flagNames(): string[] {
    const flags = {...this.ctor.baseFlags, ...this.ctor.flags} as Record<string, {aliases?: string[]; hidden?: boolean}>
    const names = Object.entries(flags).flatMap(([name, flag]) => (flag.hidden ? [] : [name, ...(flag.aliases ?? [])]))
    return this.ctor.enableJsonFlag ? [...names, 'json'] : names
  }
}

interface Failure {
  code: string
  exit: number
  message: string
  hint?: string
  /** Replaces [hint] in the JSON error: the nearest names, for a typo. */
  suggestions?: string[]
}

function describeFailure(err: Error & {oclif?: {exit?: number}; code?: string}, command: string, flagNames: string[]): Failure {
  if (err instanceof K2Error) return {code: err.code, exit: err.exit, message: err.message, hint: err.hint}
  const lines = (err.message ?? String(err)).split('\n').map((line) => line.trim()).filter(Boolean)
  const message = lines[0] ?? 'unknown error'
  if (err.oclif?.exit !== undefined) {
    const parse = describeParseError(err, command, flagNames, REPLACED_FLAGS)
    if (parse) return {exit: ExitCode.usage, ...parse}
    // oclif's own parse and validation errors: a usage error unless it said otherwise.
    const exit = err.oclif.exit === 1 ? ExitCode.failed : ExitCode.usage
    // Parse errors put the offending names on the following lines: keep them on the one line.
    return {code: exit === ExitCode.usage ? 'usage' : 'failed', exit, message: lines.slice(0, 4).join(' '), hint: exit === ExitCode.usage ? 'See --help for the flags and examples.' : undefined}
  }

  return {code: 'internal', exit: ExitCode.failed, message, hint: 'Run again with DEBUG=k2ops:* for details.'}
}
