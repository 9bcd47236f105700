import type {CheckQueries} from '../check-queries.js'
import type {OpenOptions} from './warehouse.js'

import {DuckdbCheckQueries} from './check-queries/duckdb-check-queries.js'
import {Warehouse} from './warehouse.js'

/** An open session that answers the checks' queries; close it to free the warehouse. */
export interface CheckSession {
  readonly checks: CheckQueries
  close(): Promise<void>
}

/** Opens the warehouse for the checks (callers pass readOnly: true to share it with other readers). */
export async function openCheckQueries(warehousePath: string, options: OpenOptions): Promise<CheckSession> {
  const warehouse = await Warehouse.open(warehousePath, options)
  return {checks: new DuckdbCheckQueries(warehouse), close: async () => warehouse.close()}
}
