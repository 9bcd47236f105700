import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {recoverSuite} from '../engine/recover.suite.js'
import {candles} from '../helpers/warehouse.js'

// The engine-neutral recover suite on the embedded DuckDB warehouse (Spark: test/spark/recover.test.ts).

const open = (home: string, readOnly: boolean) => Warehouse.open(join(home, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 5000, readOnly})

async function withWarehouse<T>(home: string, readOnly: boolean, work: (warehouse: Warehouse) => Promise<T>): Promise<T> {
  const warehouse = await open(home, readOnly)
  try {
    return await work(warehouse)
  } finally {
    warehouse.close()
  }
}

recoverSuite({
  name: 'DuckDB',
  kind: 'duckdb',
  cliTimeoutMs: 120_000,
  candles: (home, tf) => withWarehouse(home, true, (warehouse) => candles(warehouse, tf)),
  execute: (home, statements) =>
    withWarehouse(home, false, async (warehouse) => {
      for (const sql of statements((tf) => TIMEFRAME_SPECS[tf].table)) await warehouse.run(sql)
    }),
  // A file that is not a DuckDB database any more.
  damage: async (home) => {
    writeFileSync(join(home, 'warehouse.duckdb'), 'this is not a database\n'.repeat(1000))
    return /cannot open the warehouse/
  },
  stop: async () => {},
})
