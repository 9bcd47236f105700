import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {MAINTENANCE} from '../../pipeline/deployments.js'
import {UsageError} from '../../pipeline/errors.js'
import {RUN_STATES, RunHistory, RunRecord, RunState} from '../../pipeline/run-history.js'
import {FlowRunStats, flowRunStats} from '../../pipeline/run-stats.js'
import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../pipeline/timeframes.js'
import {renderRunHistory, renderRunSummary} from '../../render/runs.js'
import {deprecatedSinceFlag, timeWindowFlags} from '../../time-window-flags.js'

export interface RunsResult {
  /** The matching runs, in the order asked for, at most --limit. */
  runs: RunRecord[]
  /** Per flow, over every matching run (not only the ones shown). */
  summary: FlowRunStats[]
}

const BACKFILL_FLOW = 'backfill'

export default class Runs extends BaseCommand<typeof Runs> {
  static override summary = 'List the recorded flow runs, filtered by flow, state and time, with success rate and p50/p95 duration per flow.'
  static override description = `Reads the run history (<home>/state/runs.jsonl) only, never the warehouse: it answers while a backfill or a flow holds the warehouse. Runs are listed newest first (--sort duration: longest first); under them one line per flow gives the runs, the success rate (Completed out of the finished runs: Completed, Failed, TimedOut, Crashed) and the p50/p95 duration of the completed runs against the runbook's target, over every run that matched the filters, not only the --limit shown. Each run's id (its first 8 characters) is what k2ops runs show and k2ops runs cancel take.`

  static override examples = [
    '<%= config.bin %> runs',
    '<%= config.bin %> runs --state Failed --lookback 24h',
    '<%= config.bin %> runs --flow 1m --sort duration --limit 10',
    '<%= config.bin %> runs --flow backfill --state failed,timedout,crashed',
    '<%= config.bin %> runs show 3f2a9c1e',
    '<%= config.bin %> runs cancel 3f2a9c1e',
    "<%= config.bin %> runs --from 2024-08-08T00:00:00Z --json | jq '.summary[] | {flow, successRate, p95Seconds}'",
  ]

  static override flags = {
    flow: Flags.string({summary: 'Only this flow: its name (OHLCV-1m-Pipeline), timeframe (1m), deployment (ohlcv-1m-scheduled), backfill, or maintain (Table-Maintenance).'}),
    state: Flags.option({
      summary: 'Only runs in these states (any case; repeat the flag or separate with commas).',
      options: RUN_STATES,
      multiple: true,
      delimiter: ',',
      // Any case: the canonical name when there is one; oclif then checks the value against the options.
      parse: async (input) => RUN_STATES.find((state) => state.toLowerCase() === input.toLowerCase()) ?? (input as RunState),
    })(),
    ...timeWindowFlags({from: 'Only runs started at or after this instant (default: all)'}),
    since: deprecatedSinceFlag,
    limit: Flags.integer({char: 'n', summary: 'Show at most this many runs.', default: 20, min: 1}),
    sort: Flags.option({summary: 'Order: start (newest first) or duration (longest first).', options: ['start', 'duration'] as const, default: 'start' as const})(),
  }

  async run(): Promise<RunsResult> {
    const history = new RunHistory(this.home.runHistoryFile)
    const all = history.list()
    const flow = this.flags.flow === undefined ? undefined : resolveFlow(this.flags.flow, all)
    const states = this.flags.state === undefined ? undefined : new Set<RunState>(this.flags.state)
    const {fromMicros, toMicros} = this.timeWindow({toNow: false})
    const startedIn = (run: RunRecord) => {
      const micros = Date.parse(run.startedAt) * 1000
      return (fromMicros === undefined || micros >= fromMicros) && (toMicros === undefined || micros < toMicros)
    }

    const matching = all.filter((run) => (flow === undefined || run.flow === flow) && (states === undefined || states.has(run.state)) && startedIn(run))
    // list() is newest first and sort() is stable: runs of equal duration stay newest first.
    const ordered = this.flags.sort === 'duration' ? [...matching].sort((a, b) => (b.durationMs ?? -1) - (a.durationMs ?? -1)) : matching
    const result: RunsResult = {runs: ordered.slice(0, this.flags.limit), summary: flowRunStats(matching)}
    if (!this.jsonEnabled()) this.display(result, matching.length, all.length)
    return result
  }

  private display(result: RunsResult, matched: number, recorded: number): void {
    if (recorded === 0) {
      this.log(`No runs recorded yet in ${this.home.runHistoryFile} (k2ops trigger all runs the five flows; the scheduler records its runs there too).`)
      return
    }

    if (matched === 0) {
      this.log(`No runs match ${this.filters()} (${recorded} ${recorded === 1 ? 'run' : 'runs'} recorded in all).`)
      return
    }

    this.log(renderRunHistory(result.runs))
    this.log('')
    if (result.runs.length < matched) this.log(`${result.runs.length} of ${matched} matching runs shown (--limit); per flow, over all ${matched}:`)
    this.log(renderRunSummary(result.summary))
  }

  private filters(): string {
    const parts: string[] = []
    if (this.flags.flow !== undefined) parts.push(`--flow ${this.flags.flow}`)
    if (this.flags.state !== undefined) parts.push(`--state ${this.flags.state.join(',')}`)
    for (const name of ['from', 'to', 'lookback', 'since'] as const) if (this.flags[name] !== undefined) parts.push(`--${name} ${this.flags[name]}`)
    return parts.join(' ')
  }
}

/** The recorded flow name that --flow means: a flow, timeframe or deployment of the five, backfill, maintain, or any flow in the history; any case. */
function resolveFlow(value: string, runs: RunRecord[]): string {
  const wanted = value.trim().toLowerCase()
  const spec = TIMEFRAMES.map((tf) => TIMEFRAME_SPECS[tf]).find((candidate) => [candidate.name, candidate.flow.toLowerCase(), candidate.deployment].includes(wanted))
  if (spec) return spec.flow
  if (wanted === BACKFILL_FLOW) return BACKFILL_FLOW
  if ([MAINTENANCE.alias, MAINTENANCE.name, MAINTENANCE.flow.toLowerCase()].includes(wanted)) return MAINTENANCE.flow
  const recorded = runs.find((run) => run.flow.toLowerCase() === wanted)
  if (recorded) return recorded.flow
  throw new UsageError(
    `--flow: no flow '${value}' (expected a flow such as OHLCV-1m-Pipeline, a timeframe (${TIMEFRAMES.join(', ')}), a deployment such as ohlcv-1m-scheduled, ${BACKFILL_FLOW} or ${MAINTENANCE.alias})`,
    {code: 'unknown_flow'},
  )
}
