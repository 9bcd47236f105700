import type {CheckReport} from '../checks/check.js'
import type {FullStep} from '../pipeline/full-recovery.js'
import type {RunRecord} from '../pipeline/run-history.js'

import {TIMEFRAME_SPECS} from '../pipeline/timeframes.js'

/** What recover --full returns (its --json). */
export interface FullRecoveryResult {
  mode: 'full'
  status: 'pass' | 'fail'
  steps: FullStep[]
  scheduler: {pid: number; port: number} | null
  run: RunRecord | null
  health: CheckReport | null
  next: string | null
  auditId: string
}

/** The health report (when it ran), then where the procedure stopped and what to do next, or that the pipeline is back. */
export async function renderFullRecovery(result: FullRecoveryResult, failed: FullStep | undefined): Promise<string> {
  const lines: string[] = []
  if (result.health) {
    const {renderCheckReport} = await import('./checks.js')
    lines.push(renderCheckReport(result.health, {title: 'health daily'}), '')
  }

  if (failed) {
    lines.push(`recover --full stopped at "${failed.title}": ${failed.result}`, `next: ${failed.next}`)
    return lines.join('\n')
  }

  lines.push(`recover --full: the pipeline is back: scheduler pid ${result.scheduler?.pid}, ${TIMEFRAME_SPECS['1m'].flow} run Completed, health daily ${result.health?.status}.`)
  return lines.join('\n')
}
