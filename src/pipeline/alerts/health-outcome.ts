import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import type {CheckReport} from '../../checks/check.js'
import type {HealthOutcome} from './conditions.js'

import {privateDir, replacePrivateFile} from '../private-files.js'

export function healthOutcomeFile(stateDir: string): string {
  return join(stateDir, 'health-daily.json')
}

/** Keeps the verdict of a `health daily` (cron's or a person's) for the scheduler's alerts. */
export function recordHealthOutcome(stateDir: string, report: CheckReport, exit: number): void {
  const outcome: HealthOutcome = {
    at: report.checkedAt,
    status: report.status,
    exit,
    failed: report.checks.filter((check) => check.status === 'fail').map((check) => ({name: check.name, timeframe: check.timeframe ?? null, summary: check.summary})),
  }
  privateDir(stateDir)
  const file = healthOutcomeFile(stateDir)
  replacePrivateFile(file, JSON.stringify(outcome, null, 2) + '\n')
}

export function readHealthOutcome(file: string): HealthOutcome | undefined {
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as HealthOutcome
  } catch {
    return undefined
  }
}
