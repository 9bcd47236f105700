import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {lockTarget} from '../../../src/pipeline/engine/spark/target-lock.js'
import {stopWarmDrivers, warmDrivers} from '../../../src/pipeline/engine/warm-drivers.js'
import {resolveHome} from '../../../src/pipeline/home.js'
import {currentProcess} from '../../../src/pipeline/process-owner.js'
import {useTempDir} from '../../helpers/temp-home.js'

// What the scheduler shows and stops of the engine's warm drivers, read from their note files only.
// A note naming this (live) process stands for a running driver: no Spark is needed.

describe('warm drivers', () => {
  const tempDir = useTempDir('k2ops-warm-drivers-')

  function sparkHome() {
    const dir = tempDir()
    return resolveHome({home: dir, defaultDir: dir, engine: 'spark', env: {K2OPS_SPARK_DIR: join(dir, 'no-setup')}})
  }

  function writeNote(home: ReturnType<typeof sparkHome>, name: string, pid: number): void {
    const dir = join(home.stateDir, 'spark')
    mkdirSync(dir, {recursive: true})
    const note = {pid, master: 'local[2]', target: 'iceberg.market_data', startedAt: '2024-08-09T00:00:00.000000Z', socket: join(dir, `${name}.sock`)}
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(note))
  }

  it('are none on DuckDB, and nothing is stopped there', async () => {
    const dir = tempDir()
    const home = resolveHome({home: dir, defaultDir: dir})
    expect(await warmDrivers(home)).toBeUndefined()
    expect(await stopWarmDrivers(home)).toBeUndefined()
  })

  it('lists the drivers whose process runs, and leaves out a note whose process is gone', async () => {
    const home = sparkHome()
    expect(await warmDrivers(home)).toEqual([])
    writeNote(home, 'iceberg.market_data-aaaaaaaaaaaa', currentProcess().pid)
    writeNote(home, 'iceberg.market_data-bbbbbbbbbbbb', 2 ** 22 + 1)
    expect(await warmDrivers(home)).toEqual([{pid: currentProcess().pid, target: 'iceberg.market_data', master: 'local[2]', startedAt: '2024-08-09T00:00:00.000000Z', listening: false}])
  })

  it('are left up, and the holder named, while a command holds the target', async () => {
    const home = sparkHome()
    writeNote(home, 'iceberg.market_data-aaaaaaaaaaaa', currentProcess().pid)
    const lock = await lockTarget(home, {operation: 'backfill 1m', lockTimeoutMs: 0})
    try {
      expect(await stopWarmDrivers(home)).toEqual({stopped: 0, pids: [currentProcess().pid], leftRunning: [currentProcess().pid], inUseBy: {pid: currentProcess().pid, operation: 'backfill 1m'}})
    } finally {
      lock.release()
    }
  })
})
