import {Command, Flags} from '@oclif/core'

import type {CheckQueries} from './pipeline/engine/check-queries.js'

import {BaseCommand} from './base-command.js'
import {CheckReport, CheckResult, CheckStatus, buildReport} from './checks/check.js'
import {Thresholds, resolveThresholds} from './checks/thresholds.js'
import {ExitCode, ExitCodeValue} from './pipeline/errors.js'
import {renderCheckReport} from './render/checks.js'

/** The timeframes a check covers: one, a comma list, or all (the default). */
export const timeframesFlag = Flags.string({char: 't', summary: 'Timeframes to check: 1m, 5m, 30m, 1h, 1d, a comma list, or all.', default: 'all'})

/**
 * What the check commands share: `--limit` and `--strict`, a read-only warehouse, the thresholds
 * of the config file, and one way to end: the report as a table (or JSON) and exit 1 when a check
 * failed (or warned, with --strict).
 */
export abstract class CheckCommand<T extends typeof Command> extends BaseCommand<T> {
  static override baseFlags = {
    ...BaseCommand.baseFlags,
    limit: Flags.integer({summary: 'Evidence rows to show per check.', default: 10, min: 1, max: 100_000, helpGroup: 'CHECK'}),
    strict: Flags.boolean({summary: 'Treat warnings as failures (exit 1).', default: false, helpGroup: 'CHECK'}),
  }

  protected get thresholds(): Thresholds {
    return resolveThresholds(this.home.config.thresholds, `${this.home.configFile}: thresholds`)
  }

  protected get checkFlags(): {limit: number; strict: boolean} {
    const flags = this.flags as unknown as {limit: number; strict: boolean}
    return {limit: flags.limit, strict: flags.strict}
  }

  /**
   * Opens the warehouse read-only (other readers may share it; a writer makes it wait, then exit 4),
   * runs the checks' queries in `work`, and always closes it.
   */
  protected async readWarehouse<R>(operation: string, work: (queries: CheckQueries) => Promise<R>): Promise<R> {
    const session = await (await import('./pipeline/engine/index.js')).openEngine(this.home, {...this.warehouseOptions(operation), readOnly: true})
    try {
      return await work(session.checks)
    } finally {
      await session.close()
    }
  }

  /**
   * Renders the report (people) and sets the exit code: 1 when a check failed, else 4 when `busy`
   * (the warehouse checks could not run), else 1 when one warned under --strict. The report is the --json document.
   */
  protected async finish(title: string, checks: CheckResult[], nowMicros: number, options: {busy?: boolean; showExit?: boolean} = {}): Promise<CheckReport> {
    const report = buildReport(checks, nowMicros)
    const exit = reportExitCode(report.status, {busy: Boolean(options.busy), strict: this.checkFlags.strict})
    if (!this.jsonEnabled()) this.log(renderCheckReport(report, {title, paint: await this.painter(), strict: this.checkFlags.strict, exit: options.showExit ? exit : undefined}))
    if (options.busy && !this.jsonEnabled()) this.log(busyLine(exit))
    if (exit !== ExitCode.ok) process.exitCode = exit
    return report
  }

  /** Colour for statuses on a terminal, never with NO_COLOR or off a TTY. */
  protected async painter(): Promise<((status: CheckStatus, text: string) => string) | undefined> {
    if (!process.stdout.isTTY || process.env.NO_COLOR) return undefined
    const chalk = (await import('chalk')).default
    const colors = {pass: chalk.green, warn: chalk.yellow, fail: chalk.red.bold}
    return (status, text) => colors[status](text)
  }
}

/**
 * The exit code of a check report: 1 when a check failed, else 4 when `busy` (the warehouse checks
 * could not run), else 1 when one warned under --strict, else 0. A failure found is news; a busy
 * warehouse (even with --strict) means "try again later".
 */
function reportExitCode(status: CheckStatus, options: {busy: boolean; strict: boolean}): ExitCodeValue {
  if (status === 'fail') return ExitCode.failed
  if (options.busy) return ExitCode.busy
  if (status === 'warn' && options.strict) return ExitCode.failed
  return ExitCode.ok
}

/** The line under a report whose warehouse checks were skipped, with the exit code really returned. */
function busyLine(exit: ExitCodeValue): string {
  const why = exit === ExitCode.failed ? ': a check that did run failed' : ''
  return `The warehouse checks did not run: another process holds the warehouse (exit ${exit}${why}). Run again when it is done.`
}
