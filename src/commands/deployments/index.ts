import {BaseCommand} from '../../base-command.js'
import {Deployment, loadDeployments, nextRunTimes} from '../../pipeline/deployments.js'
import {MICROS_PER_SECOND, formatMillis} from '../../pipeline/time.js'
import {renderTable} from '../../render/table.js'

/** A deployment as `k2ops deployments --json` prints it: settings, and when it runs next. */
export interface DeploymentView {
  name: string
  flow: string
  /** null: the maintenance deployment. */
  timeframe: string | null
  /** What a run executes: `k2ops trigger 1m`, `k2ops maintain`. */
  command: string
  /** Five-field cron, UTC. */
  cron: string
  /** The next tick after now, ISO-8601; null while paused. */
  nextRun: string | null
  /** As the config file writes it: `10m`, `2h`, `2d`; null for maintenance (it has none). */
  lookback: string | null
  lookbackSeconds: number | null
  retries: number
  retryDelaySeconds: number
  timeoutSeconds: number
  paused: boolean
  targetSeconds: number
}

export interface DeploymentsResult {
  deployments: DeploymentView[]
}

export default class Deployments extends BaseCommand<typeof Deployments> {
  static override summary = 'List the six scheduled deployments (five flows and maintenance): cron (UTC), next run, lookback, retries, timeout, paused.'
  static override description = `The runbook's "Should see 5 deployments" (the five candle flows), and maintain-scheduled, the daily k2ops maintain (paused by default on DuckDB, where it is a checkpoint; active on Spark), with the settings <home>/config.json gives them (under "deployments.<name>": cron, lookback, retries, retryDelaySeconds, timeoutSeconds, paused). The next run is the cron's next tick after now (K2OPS_NOW replaces the clock); a paused deployment shows "paused" instead. Pause and resume one with k2ops deployments pause|resume NAME.`

  static override examples = [
    '<%= config.bin %> deployments',
    '<%= config.bin %> deployments --home ~/k2ops --json',
    "<%= config.bin %> deployments --json | jq -r '.deployments[] | select(.paused) | .name'",
  ]

  async run(): Promise<DeploymentsResult> {
    const home = this.home
    const nowMs = Math.floor(this.now() / 1000)
    const deployments = loadDeployments(home.config.deployments, `${home.configFile}: deployments`, home.engine).map((deployment) => view(deployment, nowMs))
    if (!this.jsonEnabled()) this.display(deployments, nowMs)
    return {deployments}
  }

  private display(deployments: DeploymentView[], nowMs: number): void {
    this.log(
      renderTable(
        ['NAME', 'FLOW', 'CRON (UTC)', 'NEXT RUN (UTC)', 'LOOKBACK', 'RETRIES', 'RETRY DELAY', 'TIMEOUT'],
        deployments.map((d) => [
          d.name,
          d.flow,
          d.cron,
          d.nextRun === null ? 'paused' : `${d.nextRun} (in ${formatWait(Date.parse(d.nextRun) - nowMs)})`,
          d.lookback ?? '-',
          d.retries,
          `${d.retryDelaySeconds} s`,
          `${d.timeoutSeconds} s`,
        ]),
        {alignRight: [5, 6, 7]},
      ),
    )
  }
}

function view(deployment: Deployment, nowMs: number): DeploymentView {
  const next = deployment.paused ? undefined : nextRunTimes(deployment.cron, nowMs)[0]
  return {
    name: deployment.name,
    flow: deployment.flow,
    timeframe: deployment.timeframe,
    command: `k2ops ${deployment.command.join(' ')}`,
    cron: deployment.cron,
    nextRun: next === undefined ? null : formatMillis(next),
    lookback: deployment.timeframe === null ? null : formatLookback(deployment.lookbackMicros),
    lookbackSeconds: deployment.timeframe === null ? null : deployment.lookbackMicros / MICROS_PER_SECOND,
    retries: deployment.retries,
    retryDelaySeconds: deployment.retryDelaySeconds,
    timeoutSeconds: deployment.timeoutSeconds,
    paused: deployment.paused,
    targetSeconds: deployment.targetSeconds,
  }
}

const UNITS: Array<[string, number]> = [
  ['w', 604_800],
  ['d', 86_400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
]

/** µs → the largest unit that divides it: `10m`, `2h`, `2d`; the form the config file takes. */
function formatLookback(micros: number): string {
  const seconds = micros / MICROS_PER_SECOND
  const [unit, size] = UNITS.find(([, size]) => seconds % size === 0) ?? ['s', 1]
  return `${seconds / size}${unit}`
}

/** `4 s`, `12 min`, `11 h 30 min`, `2 d 3 h`: how long until the next run. */
function formatWait(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`
  const days = Math.floor(hours / 24)
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`
}
