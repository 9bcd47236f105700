import type * as DuckDB from '@duckdb/node-api'

import {createRequire} from 'node:module'

/**
 * Loads DuckDB on first use. @duckdb/node-api is CommonJS: require() loads it about 100 ms faster
 * than import(), for which Node's ESM loader first scans each of its files for exports, and every
 * command that touches the warehouse pays that on start-up.
 */
export function loadDuckDB(): typeof DuckDB {
  return createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDB
}
