import type {FreshnessReport} from '../alerts/conditions.js'
import type {SchedulerLog} from './types.js'

export interface FreshnessProbeOptions {
  bin: string
  home: string
  warehouse: string
  env?: NodeJS.ProcessEnv
  log: SchedulerLog
}

/** Longer than any freshness check takes; a probe that hangs is stopped and tells nothing. */
const PROBE_TIMEOUT_MS = 120_000

/**
 * The freshness checks as a child `k2ops freshness --json --lock-timeout 0`, like the flows, so the
 * daemon itself never opens the warehouse. A warehouse held by someone else (exit 4), or none yet,
 * gives undefined: the freshness conditions are left as they were.
 */
export function freshnessProbe(options: FreshnessProbeOptions): () => Promise<FreshnessReport | undefined> {
  let lastProblem: string | undefined
  return async () => {
    const {execa} = await import('execa')
    const result = await execa(process.execPath, [options.bin, 'freshness', '--json', '--lock-timeout', '0', '--home', options.home, '--warehouse', options.warehouse], {
      reject: false,
      timeout: PROBE_TIMEOUT_MS,
      env: {...options.env, NO_COLOR: '1'},
      stdin: 'ignore',
    })
    let parsed: (Partial<FreshnessReport> & {error?: {message?: string}}) | undefined
    try {
      parsed = JSON.parse(result.stdout) as typeof parsed
    } catch {
      parsed = undefined
    }

    if (parsed?.checks) {
      lastProblem = undefined
      return {checkedAt: parsed.checkedAt, checks: parsed.checks}
    }

    // Said once until it changes: a busy warehouse every minute of a backfill is one line.
    const problem = parsed?.error?.message ?? (result.stderr.trim().split('\n').pop() || `freshness exited ${result.exitCode}`)
    if (problem !== lastProblem) options.log(result.exitCode === 4 ? 'info' : 'warn', 'freshness.skipped', {exit: result.exitCode, error: problem})
    lastProblem = problem
    return undefined
  }
}
