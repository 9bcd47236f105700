import {CheckResult, checkResult, plural} from './check.js'

/** The checks of one step of a report (validate, gaps, reconcile over the last day). */
export interface CheckFamily {
  family: string
  checks: CheckResult[]
}

/**
 * A check over nothing passes and says nothing: validate over a day without candles passes all of
 * its invariants. When the warehouse has trades, each family (and each of its timeframes) must
 * have had rows to check; the ones that had none are named (warn).
 */
export function coverageCheck(families: CheckFamily[], trades: number): CheckResult {
  const groups: Array<{family: string; timeframe: string | null; checked: number}> = []
  for (const {family, checks} of families) {
    for (const check of checks) {
      if (check.checked === null) continue
      const group = groups.find((candidate) => candidate.family === family && candidate.timeframe === check.timeframe)
      if (group) group.checked = Math.max(group.checked, check.checked)
      else groups.push({family, timeframe: check.timeframe, checked: check.checked})
    }
  }

  const empty = groups.filter((group) => group.checked === 0)
  const base = {name: 'checked_coverage', unit: 'families', checked: groups.length, thresholds: {warn: 0, fail: null}}
  if (trades === 0 || empty.length === 0) {
    const summary = trades === 0 ? 'no trades in the warehouse: nothing to check yet' : `every check had rows to check (${plural(groups.length, 'check family', 'check families')} by timeframe)`
    return checkResult({...base, status: 'pass', summary, value: 0})
  }

  const names = empty.map((group) => `${group.family}${group.timeframe ? ` ${group.timeframe}` : ''}`)
  return checkResult({
    ...base,
    status: 'warn',
    summary: `nothing to check for ${names.join(', ')} although the warehouse holds ${plural(trades, 'trade')}: their passes say nothing`,
    value: empty.length,
    evidence: empty.map((group) => ({family: group.family, timeframe: group.timeframe, checked: 0})),
    hint: 'k2ops freshness shows whether the feed or the flows stopped; k2ops runs shows the flow runs',
  })
}
