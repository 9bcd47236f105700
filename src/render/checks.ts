import type {CheckReport, CheckResult, CheckStatus} from '../checks/check.js'

import {formatAge, formatBytes} from '../checks/units.js'
import {TIMEFRAMES} from '../pipeline/timeframes.js'
import {count} from '../pipeline/words.js'
import {renderTable} from './table.js'

export type Paint = (status: CheckStatus, text: string) => string

/** The report for people: one line per check, then the evidence and next step of each that did not pass. */
export function renderCheckReport(report: CheckReport, options: {title: string; paint?: Paint; strict?: boolean; exit?: number}): string {
  const paint = options.paint ?? ((_status: CheckStatus, text: string) => text)
  const lines: string[] = []
  const byTimeframe = report.checks.filter((check) => check.timeframe !== null)
  const other = report.checks.filter((check) => check.timeframe === null)
  if (byTimeframe.length > 0) {
    // Checks run per timeframe read best as a matrix: one row per check, one column per timeframe.
    const timeframes = TIMEFRAMES.filter((tf) => byTimeframe.some((check) => check.timeframe === tf))
    const names = [...new Set(byTimeframe.map((check) => check.name))]
    const cell = (name: string, tf: string) => {
      const check = byTimeframe.find((candidate) => candidate.name === name && candidate.timeframe === tf)
      if (!check) return ''
      const value = check.value ? ` ${formatValue(check)}` : ''
      const checked = check.checked === null ? '' : ` [${count(check.checked)}]`
      return paint(check.status, `${check.status === 'pass' ? 'pass' : check.status.toUpperCase()}${value}${checked}`)
    }

    lines.push(renderTable(['CHECK', ...timeframes], names.map((name) => [name, ...timeframes.map((tf) => cell(name, tf))])))
    if (byTimeframe.some((check) => check.checked !== null)) lines.push('[n]: rows checked (candles; windows with trades for pipeline_gaps)')
  }

  if (other.length > 0) {
    if (lines.length > 0) lines.push('')
    lines.push(
      renderTable(
        ['STATUS', 'CHECK', 'VALUE', 'CHECKED', 'SUMMARY'],
        other.map((check) => [paint(check.status, check.status.toUpperCase()), check.name, formatValue(check), check.checked === null ? '-' : count(check.checked), check.summary]),
        {alignRight: [2, 3]},
      ),
    )
  }

  for (const check of report.checks) {
    if (check.status === 'pass') continue
    lines.push('', paint(check.status, `${check.status.toUpperCase()} ${check.name}${check.timeframe ? ` ${check.timeframe}` : ''}: ${check.summary}`))
    if (check.evidence.length > 0) {
      const head = Object.keys(check.evidence[0])
      lines.push(renderTable(head.map((key) => key.toUpperCase()), check.evidence.map((row) => head.map((key) => String(row[key] ?? '')))))
      if (check.evidenceOmitted > 0) lines.push(`… and ${count(check.evidenceOmitted)} more (raise --limit to see them)`)
    }

    if (check.hint) lines.push(`next: ${check.hint}`)
  }

  // A pass over nothing is not a pass over something: say which checks had nothing to look at.
  const empty = report.checks.filter((check) => check.checked === 0)
  if (empty.length > 0) lines.push('', `nothing to check (0 rows): ${empty.map((check) => `${check.name}${check.timeframe ? ` ${check.timeframe}` : ''}`).join(', ')}`)

  const counts = {pass: 0, warn: 0, fail: 0}
  for (const check of report.checks) counts[check.status]++
  const verdict = report.status === 'warn' && options.strict ? 'fail (--strict: warnings fail)' : report.status
  const exit = options.exit === undefined ? '' : ` (exit ${options.exit})`
  lines.push('', paint(report.status, `${options.title}: ${verdict} — ${counts.fail} failed, ${counts.warn} warned, ${counts.pass} passed${exit}`))
  return lines.join('\n')
}

/** The measured value in its unit, short. */
export function formatValue(check: CheckResult): string {
  if (check.value === null) return '-'
  switch (check.unit) {
    case 'seconds': {
      return formatAge(check.value)
    }

    case 'ratio': {
      return `${Number((check.value * 100).toFixed(2))}%`
    }

    case 'bytes': {
      return formatBytes(check.value)
    }

    case 'ms': {
      return `${check.value} ms`
    }

    case '× target': {
      return `${check.value}×`
    }

    case 'percent free': {
      return `${check.value}% free`
    }

    // An identifier, not a quantity: `pid 12345`, never `12,345`.
    case 'pid': {
      return String(check.value)
    }

    default: {
      return check.value.toLocaleString('en-US')
    }
  }
}
