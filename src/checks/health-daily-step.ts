import type {RecoveryStep} from '../pipeline/full-recovery.js'
import type {Home} from '../pipeline/home.js'
import type {EngineOpenOptions} from '../pipeline/engine/engine.js'
import type {CheckReport} from './check.js'

import {retentionKeptFrom} from '../pipeline/retention-policy.js'
import {plural} from '../pipeline/words.js'
import {resolveThresholds} from './thresholds.js'

/** The daily health check, as `k2ops health daily` runs it (no task list of its own: it is one step of recover --full). */
export async function healthDailyReport(home: Home, openOptions: EngineOpenOptions, nowMicros: number): Promise<CheckReport> {
  const [{HealthDaily}, {RunHistory}, {buildReport}] = await Promise.all([import('./health-daily.js'), import('../pipeline/run-history.js'), import('./check.js')])
  const procedure = new HealthDaily({
    stateDir: home.stateDir,
    logsDir: home.logsDir,
    home,
    openOptions,
    runs: new RunHistory(home.runHistoryFile).list(),
    thresholds: resolveThresholds(home.config.thresholds, `${home.configFile}: thresholds`),
    keptFrom: retentionKeptFrom(home, nowMicros),
    nowMicros,
    limit: 10,
  })
  return buildReport(await procedure.runAll(), nowMicros)
}

/** The last step of recover --full: health daily, failing when a check failed; `onReport` receives the report. */
export function healthDailyStep(runHealthDaily: () => Promise<CheckReport>, onReport: (report: CheckReport) => void): RecoveryStep {
  let health: CheckReport | undefined
  return {
    name: 'health-daily',
    title: 'Health daily',
    // The pipeline runs again; what is left is in the data or the feed: each failed check says what to do.
    next: () => [...new Set((health?.checks ?? []).filter((check) => check.status === 'fail').map((check) => check.hint ?? 'k2ops health daily'))].join('; ') || 'k2ops health daily',
    run: async () => {
      health = await runHealthDaily()
      onReport(health)
      const failed = health.checks.filter((check) => check.status === 'fail')
      if (failed.length > 0) throw new Error(`health daily: ${failed.map((check) => `${check.name}${check.timeframe ? ` ${check.timeframe}` : ''}`).join(', ')} failed`)
      const warned = health.checks.filter((check) => check.status === 'warn').length
      return `${health.status} (${plural(health.checks.length, 'check')}${warned > 0 ? `, ${warned} warned` : ''})`
    },
  }
}
