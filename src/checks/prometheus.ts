import {renameSync, rmSync, writeFileSync} from 'node:fs'

import type {FlowRunStats} from '../pipeline/run-stats.js'

import {UsageError} from '../pipeline/errors.js'
import {CheckReport, statusSeverity} from './check.js'

interface Metric {
  name: string
  help: string
  samples: Array<{labels: Record<string, string>; value: number}>
}

/**
 * The report in Prometheus' text exposition format, for node_exporter's textfile collector:
 * every check's status (0 pass, 1 warn, 2 fail) and value, the overall status, and per-flow run figures.
 */
export function prometheusText(report: CheckReport, flows: FlowRunStats[]): string {
  const checks = report.checks
  const label = (check: (typeof checks)[number]) => ({check: check.name, timeframe: check.timeframe ?? ''})
  const metrics: Metric[] = [
    {name: 'k2ops_health_status', help: 'Overall status of k2ops health daily: 0 pass, 1 warn, 2 fail.', samples: [{labels: {}, value: statusSeverity(report.status)}]},
    {name: 'k2ops_health_checked_timestamp_seconds', help: 'When the report was measured, in seconds since the epoch.', samples: [{labels: {}, value: Date.parse(report.checkedAt) / 1000}]},
    {name: 'k2ops_check_status', help: 'Status of each check: 0 pass, 1 warn, 2 fail.', samples: checks.map((check) => ({labels: label(check), value: statusSeverity(check.status)}))},
    {
      name: 'k2ops_check_value',
      help: 'The value each check measured, in the unit of its unit label.',
      samples: checks.filter((check) => check.value !== null).map((check) => ({labels: {...label(check), unit: check.unit}, value: check.value!})),
    },
    {
      name: 'k2ops_check_checked_rows',
      help: 'Rows each check looked at (candles, windows, trades); 0: it had nothing to check.',
      samples: checks.filter((check) => check.checked !== null).map((check) => ({labels: label(check), value: check.checked!})),
    },
    {name: 'k2ops_flow_runs_24h', help: 'Flow runs started in the last 24 h.', samples: flows.map((flow) => ({labels: {flow: flow.flow}, value: flow.runs}))},
    {
      name: 'k2ops_flow_success_ratio_24h',
      help: 'Completed / finished flow runs over the last 24 h.',
      samples: flows.filter((flow) => flow.successRate !== null).map((flow) => ({labels: {flow: flow.flow}, value: flow.successRate!})),
    },
    {
      name: 'k2ops_flow_duration_p95_seconds_24h',
      help: 'p95 duration of the completed flow runs of the last 24 h.',
      samples: flows.filter((flow) => flow.p95Seconds !== null).map((flow) => ({labels: {flow: flow.flow}, value: flow.p95Seconds!})),
    },
  ]
  const lines: string[] = []
  for (const metric of metrics) {
    if (metric.samples.length === 0) continue
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} gauge`)
    for (const sample of metric.samples) lines.push(`${metric.name}${formatLabels(sample.labels)} ${formatNumber(sample.value)}`)
  }

  return lines.join('\n') + '\n'
}

/** Writes beside the target and renames, so the collector never reads half a file. */
export function writeFileAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`
  try {
    writeFileSync(temporary, text, {mode: 0o644})
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, {force: true})
    // Name the file asked for, not the temporary one beside it.
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new UsageError(`${path}: cannot write the Prometheus file (${reason})`, {code: 'prom_file_unwritable'})
  }
}

function formatLabels(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`)
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf'
  return String(value)
}
