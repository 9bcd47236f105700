import type {SchemaChange} from '../pipeline/engine/engine.js'

const VERBS = {created: ['Created', 'Would create'], altered: ['Changed', 'Would change'], adopted: ['Adopted', 'Would adopt']} as const

/** What init did (or would do) to each table, one line each, with the changes of an altered one beneath it. */
export function renderSchemaChanges(result: {warehouse: string; dryRun: boolean; schema: SchemaChange[]}): string {
  const lines = [`${result.dryRun ? 'Dry run: nothing is changed. ' : ''}Warehouse ${result.warehouse}`]
  for (const table of result.schema) {
    lines.push(`  ${VERBS[table.action][result.dryRun ? 1 : 0].padEnd(12)} ${table.table}`)
    for (const change of table.changes) lines.push(`    ${change}`)
  }

  return lines.join('\n')
}
