import type {RunRecord} from '../pipeline/run-history.js'

import {formatSeconds} from './runs.js'

/** The fields of a run record in the order a reader wants them, with their labels. */
const FIELDS: Array<[keyof RunRecord, string]> = [
  ['flow', 'flow'],
  ['deployment', 'deployment'],
  ['timeframe', 'timeframe'],
  ['trigger', 'trigger'],
  ['scheduledFor', 'scheduled for'],
  ['startedAt', 'started'],
  ['endedAt', 'ended'],
  ['attempt', 'attempt'],
  ['rangeFrom', 'range from'],
  ['rangeTo', 'range to'],
  ['candles', 'candles'],
  ['removed', 'removed'],
  ['trades', 'trades'],
  ['lateWindows', 'late windows'],
  ['lateFrom', 'late from'],
  ['lateTo', 'late to'],
  ['lateBeyondRetention', 'late beyond retention'],
  ['retentionCutoff', 'retention cutoff'],
  ['cancelledBy', 'cancelled by'],
  ['cancelledAt', 'cancelled at'],
  ['warehouse', 'warehouse'],
  ['pid', 'process'],
]

/** `k2ops runs show`: a header line, then one `label: value` line per field the run has; error and note in full. */
export function renderRunDetail(run: RunRecord): string {
  const duration = run.durationMs === undefined ? '' : ` in ${formatSeconds(run.durationMs / 1000)}`
  const lines = [`Run ${run.id}: ${run.state}${duration}`]
  const width = Math.max(...FIELDS.map(([, label]) => label.length), 'error'.length) + 1
  for (const [key, label] of FIELDS) {
    const value = run[key]
    if (value !== undefined && value !== '') lines.push(`  ${`${label}:`.padEnd(width)} ${value}`)
  }

  for (const [label, text] of [['error', run.error], ['note', run.note]] as const) {
    if (text) lines.push(`  ${`${label}:`.padEnd(width)} ${text.split('\n').join(`\n  ${' '.repeat(width)} `)}`)
  }

  return lines.join('\n')
}
