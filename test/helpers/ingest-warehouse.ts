import {join} from 'node:path'
import {afterEach} from 'vitest'

import type {IngestOptions} from '../../src/pipeline/ingest/ingest-types.js'

import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {useTempDir} from './temp-home.js'

export interface IngestSetup {
  dir: string
  warehouse: Warehouse
  options: IngestOptions
}

/** Per test: a temp dir, an open warehouse with the schema (closed afterwards), ingest options. */
export function useIngestWarehouse(nowMicros: number): () => Promise<IngestSetup> {
  const tempDir = useTempDir('k2ops-ingest-')
  const open: Warehouse[] = []
  afterEach(() => {
    for (const w of open.splice(0)) w.close()
  })
  return async () => {
    const dir = tempDir()
    const warehouse = await Warehouse.open(join(dir, 'w.duckdb'), {operation: 'test', lockTimeoutMs: 1000, create: true})
    open.push(warehouse)
    return {dir, warehouse, options: {rejectsDir: join(dir, 'rejects'), nowMicros}}
  }
}
