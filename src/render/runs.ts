import type {RunRecord} from '../pipeline/run-history.js'

import {renderTable} from './table.js'

export function renderRuns(runs: RunRecord[]): string {
  return renderTable(
    ['FLOW', 'STATE', 'DURATION', 'WINDOWS FROM', 'TO', 'CANDLES', 'LATE', 'REMOVED', 'TRADES'],
    runs.map((run) => [
      run.flow,
      run.state,
      run.durationMs === undefined ? '-' : `${run.durationMs} ms`,
      run.rangeFrom ?? '-',
      run.rangeTo ?? '-',
      run.candles ?? '-',
      run.lateWindows ?? '-',
      run.removed ?? '-',
      run.trades ?? '-',
    ]),
    {alignRight: [2, 5, 6, 7, 8]},
  )
}
