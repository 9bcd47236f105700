import {chmodSync, existsSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {openTestWarehouse} from '../helpers/warehouse.js'
import {useTempDir} from '../helpers/temp-home.js'

const modeOf = (path: string) => statSync(path).mode & 0o777

// The e2e tests see the file after a clean close, when DuckDB has folded the .wal in: here it is still open.
describe('the warehouse file and its write-ahead log', () => {
  const tempDir = useTempDir()

  it('are 0600 when k2ops creates the warehouse, while it is open and after', async () => {
    const dir = tempDir()
    const path = join(dir, 'warehouse.duckdb')
    const warehouse = await openTestWarehouse(dir)
    try {
      expect(existsSync(`${path}.wal`)).toBe(true)
      expect([modeOf(path), modeOf(`${path}.wal`)]).toEqual([0o600, 0o600])
    } finally {
      warehouse.close()
    }

    expect(modeOf(path)).toBe(0o600)
  })

  it('keep the mode of a warehouse the user made', async () => {
    const dir = tempDir()
    const path = join(dir, 'warehouse.duckdb')
    ;(await openTestWarehouse(dir)).close()
    chmodSync(path, 0o640)
    const warehouse = await openTestWarehouse(dir)
    warehouse.close()
    expect(modeOf(path)).toBe(0o640)
  })
})
