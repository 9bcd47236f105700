import {Flags} from '@oclif/core'
import {existsSync, statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

import {CheckReport, CheckResult, statusSeverity} from '../../checks/check.js'
import {CheckCommand} from '../../check-command.js'
import {UsageError} from '../../pipeline/errors.js'
import {retentionKeptFrom} from '../../pipeline/retention-policy.js'
import {RunHistory} from '../../pipeline/run-history.js'
import {MICROS_PER_DAY} from '../../pipeline/time.js'
import {runTasks} from '../../render/tasks.js'

/** A health report waits this long at most for a warehouse held by a job, unless --lock-timeout says otherwise. */
const HEALTH_LOCK_WAIT_MS = 2000

export default class HealthDaily extends CheckCommand<typeof HealthDaily> {
  static override summary = 'The daily health check: flow runs, freshness, invariants, gaps, reconciliation, source trades, storage.'
  static override description = `The runbook's daily procedure as one report. Exit 0 when nothing failed (warnings are printed), 1 when a
check failed (or warned, with --strict), 4 when another process held the warehouse: the report then covers the
flow runs and storage only. --prom-file also writes every figure for node_exporter's textfile collector.`

  static override examples = [
    '<%= config.bin %> health daily',
    '<%= config.bin %> health daily --json | jq \'.checks[] | select(.status != "pass")\'',
    '<%= config.bin %> health daily --prom-file /var/lib/node_exporter/textfile/k2ops.prom',
  ]

  static override flags = {
    'prom-file': Flags.string({summary: 'Also write the figures in Prometheus text format to this file (atomically).'}),
  }

  async run(): Promise<CheckReport> {
    const now = this.now()
    const home = this.home
    const thresholds = this.thresholds
    const promDir = this.flags['prom-file'] === undefined ? undefined : dirname(resolve(this.flags['prom-file']))
    // Checked first: a cron job pointing at a missing directory learns it at once, not after every check ran.
    if (promDir !== undefined && !(existsSync(promDir) && statSync(promDir).isDirectory())) {
      throw new UsageError(`--prom-file: no directory ${promDir}`, {code: 'prom_file_unwritable'})
    }

    const runs = new RunHistory(home.runHistoryFile).list()
    const {HealthDaily: Procedure} = await import('../../checks/health-daily.js')
    const lockTimeoutMs = this.flags['lock-timeout'] === undefined ? Math.min(home.lockTimeoutMs, HEALTH_LOCK_WAIT_MS) : home.lockTimeoutMs
    const procedure = new Procedure({
      stateDir: home.stateDir,
      logsDir: home.logsDir,
      home,
      openOptions: {...this.warehouseOptions('health daily'), lockTimeoutMs},
      runs,
      thresholds,
      keptFrom: retentionKeptFrom(home, now),
      nowMicros: now,
      limit: this.checkFlags.limit,
    })
    const checks: CheckResult[] = []
    let unexpected: Error | undefined
    try {
      await runTasks(
        procedure.steps().map((step) => ({
          title: step.title,
          // A step whose checks failed is marked failed (✖), and the report goes on.
          exitOnError: false,
          task: async (_ctx, task) => {
            const results = await step.run().catch((error: Error) => {
              unexpected ??= error
              throw error
            })
            checks.push(...results)
            const failed = results.filter((result) => result.status === 'fail')
            // listr2 prints a failed task's title with the error's message: the checks that failed.
            if (failed.length > 0) throw new StepFailed(failed.map((result) => `${result.name}${result.timeframe ? ` ${result.timeframe}` : ''}`).join(', '))
            task.title = `${step.title}: ${stepVerdict(results)}`
          },
        })),
        {json: this.jsonEnabled(), context: {}},
      )
    } finally {
      await procedure.close()
    }

    // The task list goes on past a step that broke; the command does not.
    if (unexpected) throw unexpected

    // Cron mails and logs show the verdict line: it says the exit code that cron saw.
    const report = await this.finish('health daily', checks, now, {busy: procedure.busy, showExit: true})
    // The scheduler's alerts read the verdict (a failed health daily, and its recovery).
    const {recordHealthOutcome} = await import('../../pipeline/alerts/health-outcome.js')
    recordHealthOutcome(home.stateDir, report, Number(process.exitCode ?? 0))
    if (this.flags['prom-file']) {
      const {prometheusText, writeFileAtomically} = await import('../../checks/prometheus.js')
      const {flowRunStats} = await import('../../pipeline/run-stats.js')
      const sinceMs = (now - MICROS_PER_DAY) / 1000
      writeFileAtomically(this.flags['prom-file'], prometheusText(report, flowRunStats(runs.filter((run) => Date.parse(run.startedAt) >= sinceMs))))
    }

    return report
  }
}

/** A step that ran and found failures: not an error of k2ops. */
class StepFailed extends Error {}

function stepVerdict(results: CheckResult[]): string {
  if (results.length === 0) return 'skipped'
  const worst = results.reduce((max, result) => (statusSeverity(result.status) > statusSeverity(max.status) ? result : max))
  if (worst.status === 'pass') return `pass (${results.length} ${results.length === 1 ? 'check' : 'checks'})`
  const failing = results.filter((result) => result.status === worst.status)
  return `${worst.status.toUpperCase()}: ${failing.map((result) => `${result.name}${result.timeframe ? ` ${result.timeframe}` : ''}`).join(', ')}`
}
