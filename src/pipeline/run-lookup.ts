import type {RunHistory, RunRecord} from './run-history.js'

import {UsageError} from './errors.js'

/** The shortest id prefix accepted, and the one `k2ops runs` shows. */
export const SHORT_ID_LENGTH = 8

/** The run with this id or id prefix (at least 8 characters, as `k2ops runs` shows them). */
export function findRun(history: Pick<RunHistory, 'list' | 'file'>, idOrPrefix: string): RunRecord {
  const wanted = idOrPrefix.trim().toLowerCase()
  if (!/^[\da-f-]+$/.test(wanted)) throw new UsageError(`run id '${idOrPrefix}': expected a run id as k2ops runs shows it (hex digits and dashes)`, {code: 'unknown_run'})
  const runs = history.list()
  const exact = runs.find((run) => run.id === wanted)
  if (exact) return exact
  if (wanted.length < SHORT_ID_LENGTH) {
    throw new UsageError(`run id '${idOrPrefix}': give at least ${SHORT_ID_LENGTH} characters of it`, {code: 'unknown_run'})
  }

  const matches = runs.filter((run) => run.id.startsWith(wanted))
  if (matches.length === 1) return matches[0]
  if (matches.length > 1) throw new UsageError(`run id '${idOrPrefix}' matches ${matches.length} runs: give more of it`, {code: 'ambiguous_run'})
  throw new UsageError(`no run '${idOrPrefix}' in ${history.file ?? 'the run history'}`, {code: 'unknown_run', hint: 'k2ops runs lists the recorded runs with their ids'})
}
