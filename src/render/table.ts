import Table from 'cli-table3'

/** Aligned columns without borders: readable on a terminal and in a cron log alike. */
export function renderTable(head: string[], rows: Array<Array<string | number>>, options: {alignRight?: number[]} = {}): string {
  const table = new Table({
    head,
    style: {head: [], border: [], 'padding-left': 0, 'padding-right': 2},
    chars: {top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: ''},
    colAligns: head.map((_, i) => (options.alignRight?.includes(i) ? 'right' : 'left')),
  })
  for (const row of rows) table.push(row.map(String))
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
}
