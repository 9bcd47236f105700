import type {SchemaChange} from '../engine.js'
import type {SparkSql} from './spark-engine.js'

import {UsageError} from '../../errors.js'
import {KLINE_FILL_COMMAND} from '../../schema.js'
import {sqlName} from './sql-text.js'
import {CANDLE_COLUMNS, META_NAMESPACE, SparkTables, TableDefinition, createTableSql} from './tables.js'

/** A column as DESCRIBE TABLE prints it. */
interface FoundColumn {
  name: string
  type: string
}

/**
 * Creates the namespaces and tables that are missing; adopts the tables that are there (the original
 * platform's, for one): every column k2ops needs must be present with its type, or one Iceberg can
 * widen to it (volume and quantity DECIMAL(18,8) → DECIMAL(38,8), so meme-coin sizes never
 * overflow), and the table must be format version 2 (a version 1 table is upgraded). Extra columns
 * are kept. With dryRun, says what it would do and changes nothing.
 */
export async function ensureSparkSchema(session: SparkSql, tables: SparkTables, options: {dryRun?: boolean}): Promise<SchemaChange[]> {
  const {catalog, namespace} = tables.target
  const present = await namespacesOf(session, catalog)
  const listed = [namespace, META_NAMESPACE].filter((ns) => present.has(ns))
  const shown = listed.length > 0 ? await session.sql(listed.map((ns) => `SHOW TABLES IN ${sqlName(catalog)}.${sqlName(ns)}`)) : []
  const existing = new Set(shown.flatMap((result, i) => result.rows.map((row) => `${listed[i]}.${String(row[1])}`)))
  const definitions = tables.definitions()
  const adopted = definitions.filter((table) => existing.has(table.short.includes('.') ? table.short : `${namespace}.${table.short}`))
  const described = adopted.length > 0 ? await session.sql(adopted.flatMap((table) => [`DESCRIBE TABLE ${table.name}`, `SHOW TBLPROPERTIES ${table.name} ('format-version')`])) : []

  const statements: string[] = []
  const changes: SchemaChange[] = []
  for (const ns of [namespace, META_NAMESPACE]) if (!present.has(ns)) statements.push(`CREATE NAMESPACE IF NOT EXISTS ${sqlName(catalog)}.${sqlName(ns)}`)
  for (const table of definitions) {
    const index = adopted.indexOf(table)
    if (index < 0) {
      statements.push(createTableSql(table))
      changes.push({table: displayName(tables, table), action: 'created', changes: []})
      continue
    }

    const found = describedColumns(described[2 * index].rows)
    const version = String(described[2 * index + 1].rows[0]?.[1] ?? '')
    const alter = adoptionChanges(tables, table, found, version)
    statements.push(...alter.statements)
    changes.push({table: displayName(tables, table), action: alter.lines.length > 0 ? 'altered' : 'adopted', changes: alter.lines, ...(alter.appended && table.columns === CANDLE_COLUMNS && {fill: KLINE_FILL_COMMAND})})
  }

  if (!options.dryRun && statements.length > 0) await session.sql(statements)
  return changes
}

/** The catalog's namespaces; none where a Hadoop catalog's warehouse directory does not exist yet. */
async function namespacesOf(session: SparkSql, catalog: string): Promise<Set<string>> {
  try {
    const [namespaces] = await session.sql([`SHOW NAMESPACES IN ${sqlName(catalog)}`])
    return new Set(namespaces.rows.map((row) => String(row[0])))
  } catch (error) {
    if (/NoSuchNamespace|Namespace does not exist/i.test((error as Error).message)) return new Set()
    throw error
  }
}

function displayName(tables: SparkTables, table: TableDefinition): string {
  return table.short.includes('.') ? `${tables.target.catalog}.${table.short}` : `${tables.target.catalog}.${tables.target.namespace}.${table.short}`
}

/** DESCRIBE TABLE's rows up to its partition section: (col_name, data_type, comment). */
export function describedColumns(rows: unknown[][]): Map<string, FoundColumn> {
  const columns = new Map<string, FoundColumn>()
  for (const [name, type] of rows) {
    const text = String(name ?? '').trim()
    if (text === '' || text.startsWith('#')) break
    columns.set(text.toLowerCase(), {name: text, type: String(type).toLowerCase().replaceAll(' ', '')})
  }

  return columns
}

function adoptionChanges(tables: SparkTables, table: TableDefinition, found: Map<string, FoundColumn>, formatVersion: string): {statements: string[]; lines: string[]; appended: boolean} {
  const statements: string[] = []
  const lines: string[] = []
  const problems: string[] = []
  for (const wanted of table.columns) {
    const have = found.get(wanted.name)
    if (!have && wanted.appended) continue
    if (!have) {
      problems.push(`column ${wanted.name} ${wanted.type.toUpperCase()} is missing`)
      continue
    }

    if (have.type === wanted.type) continue
    if (widens(have.type, wanted.type)) {
      statements.push(`ALTER TABLE ${table.name} ALTER COLUMN ${sqlName(have.name)} TYPE ${wanted.type.toUpperCase()}`)
      lines.push(`${have.name} ${have.type.toUpperCase()} → ${wanted.type.toUpperCase()}`)
    } else {
      problems.push(`column ${have.name} is ${have.type.toUpperCase()}, k2ops needs ${wanted.type.toUpperCase()}`)
    }
  }

  // Columns k2ops added after the original platform's are added to a table without them.
  const appended = table.columns.filter((wanted) => wanted.appended && !found.has(wanted.name))
  if (appended.length > 0) {
    statements.push(`ALTER TABLE ${table.name} ADD COLUMNS (${appended.map((c) => `${sqlName(c.name)} ${c.type.toUpperCase()}`).join(', ')})`)
    lines.push(`added ${appended.map((c) => `${c.name} ${c.type.toUpperCase()}`).join(', ')}`)
  }

  if (problems.length > 0) {
    throw new UsageError(`${displayName(tables, table)}: cannot adopt the table: ${problems.join('; ')}`, {
      code: 'schema_mismatch',
      hint: 'Point the home at another namespace (spark.namespace), or fix the table.',
    })
  }

  if (formatVersion !== '2') {
    statements.push(`ALTER TABLE ${table.name} SET TBLPROPERTIES ('format-version' = '2')`)
    lines.push(`format-version ${formatVersion || '1'} → 2`)
  }

  return {statements, lines, appended: appended.length > 0}
}

/** A DECIMAL that Iceberg's schema evolution widens in place: same scale, more digits. */
function widens(from: string, to: string): boolean {
  const a = /^decimal\((\d+),(\d+)\)$/.exec(from)
  const b = /^decimal\((\d+),(\d+)\)$/.exec(to)
  return Boolean(a && b && a[2] === b[2] && Number(a[1]) < Number(b[1]))
}
