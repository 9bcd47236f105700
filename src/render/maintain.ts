import type {StorageFigures} from '../pipeline/engine/engine.js'
import type {MaintainDocument} from '../pipeline/maintenance.js'

import {renderTable} from './table.js'

/** What maintenance did (or would do) to each table, step by step, then each table's storage before and after. */
export function renderMaintenance(document: MaintainDocument): string {
  const {policy} = document
  const head = document.dryRun ? `Dry run: nothing changed. Maintenance of ${document.target} (${document.engine}) would:` : `Maintained ${document.target} (${document.engine}):`
  const lines = [head, '']
  lines.push(
    renderTable(
      ['TABLE', 'STEP', document.dryRun ? 'WOULD' : 'DONE'],
      document.tables.flatMap((table) => table.steps.map((step, index) => [index === 0 ? table.table : '', step.step, step.summary.replace(/^would /, '')])),
    ),
  )
  if (document.engine !== 'spark') return [...lines, ...(document.auditId ? ['', `Audit record ${document.auditId}.`] : [])].join('\n')
  lines.push('')
  const figures = (f: StorageFigures) => [f.snapshots ?? '-', f.dataFiles, bytes(f.dataBytes), f.storedFiles, bytes(f.storedBytes)]
  const columns = ['SNAPSHOTS', 'FILES', 'BYTES', 'STORED FILES', 'STORED BYTES']
  // A dry run has the figures of now only; a real run's before → after.
  lines.push(
    renderTable(
      ['TABLE', ...columns, ...(document.dryRun ? [] : ['', ...columns])],
      document.tables.map((table) => [table.table, ...figures(table.before), ...(table.after ? ['→', ...figures(table.after)] : [])]),
      {alignRight: [1, 2, 3, 4, 5, 7, 8, 9, 10, 11]},
    ),
  )
  lines.push('', `Policy: keep snapshots of the last ${policy.snapshotAge} (and the newest ${policy.keepSnapshots}); remove orphan files older than ${policy.orphanAge}; compact ${policy.writtenSince ? `the partitions written since ${policy.writtenSince}` : 'every partition (no earlier run)'}.`)

  if (document.auditId) lines.push(`Audit record ${document.auditId}.`)
  return lines.join('\n')
}

function bytes(value: number): string {
  if (value < 1024) return `${value} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let size = value / 1024
  let unit = 0
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024
    unit++
  }

  return `${size.toFixed(1)} ${units[unit]}`
}
