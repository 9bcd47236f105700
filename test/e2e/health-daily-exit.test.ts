import {appendFileSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {k2ops} from '../helpers/cli.js'
import {holdWarehouse} from '../helpers/warehouse-holder.js'

const NOW = '2024-08-10T12:34:56Z'

/** Every "(exit N" that health daily printed. */
function printedExits(stdout: string): number[] {
  return [...stdout.matchAll(/\(exit (\d)/g)].map((m) => Number(m[1]))
}

describe('health daily prints the exit code it really returns', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k2ops-health-exit-'))
  const home = join(dir, 'demo')
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  beforeAll(async () => {
    const demo = await k2ops(['demo', '--home', home, '--trades', '2000', '--json'], {K2OPS_NOW: NOW})
    expect(demo.exitCode, demo.stderr).toBe(0)
  })

  async function daily(extra: string[] = []): Promise<{exit: number; printed: number[]; last: string}> {
    const result = await k2ops(['health', 'daily', '--home', home, ...extra], {K2OPS_NOW: NOW})
    return {exit: result.exitCode, printed: printedExits(result.stdout), last: result.stdout.trim().split('\n').at(-1)!}
  }

  it('warn (0), warn with --strict (1), and with a warehouse held by another process: busy (4), busy with --strict (4)', async () => {
    const warn = await daily()
    expect(warn).toMatchObject({exit: 0, printed: [0]})
    expect(warn.last).toMatch(/^health daily: warn — .* \(exit 0\)$/)
    expect(await daily(['--strict'])).toMatchObject({exit: 1, printed: [1]})

    const holder = await holdWarehouse(join(home, 'warehouse.duckdb'))
    try {
      const busy = await daily()
      expect(busy).toMatchObject({exit: 4, printed: [4, 4]})
      expect(busy.last).toBe('The warehouse checks did not run: another process holds the warehouse (exit 4). Run again when it is done.')
      expect(await daily(['--strict'])).toMatchObject({exit: 4, printed: [4, 4]})
    } finally {
      await holder.release()
    }
  })

  it('a failed check while the warehouse is busy exits 1, and says 1 (it said exit 4)', async () => {
    // Failed flow runs: the run checks read the run history, not the warehouse, so they run while it is held.
    const runs = join(home, 'state', 'runs.jsonl')
    for (let i = 0; i < 6; i++) {
      const startedAt = new Date(Date.parse(NOW) - (i + 1) * 300_000).toISOString().replace('.000Z', 'Z')
      const run = {id: `failed-${i}`, flow: 'OHLCV-1m-Pipeline', deployment: 'ohlcv-1m-scheduled', timeframe: '1m', trigger: 'scheduled', state: 'Failed', startedAt, endedAt: startedAt, durationMs: 10, error: 'boom', pid: 1, warehouse: join(home, 'warehouse.duckdb')}
      appendFileSync(runs, JSON.stringify(run) + '\n')
    }

    const failed = await daily()
    expect(failed).toMatchObject({exit: 1, printed: [1]})
    const holder = await holdWarehouse(join(home, 'warehouse.duckdb'))
    try {
      const busyAndFailed = await daily()
      expect(busyAndFailed).toMatchObject({exit: 1, printed: [1, 1]})
      expect(busyAndFailed.last).toBe('The warehouse checks did not run: another process holds the warehouse (exit 1: a check that did run failed). Run again when it is done.')
      const json = await k2ops(['health', 'daily', '--home', home, '--json'], {K2OPS_NOW: NOW})
      expect(json.exitCode).toBe(1)
      expect(json.json.status).toBe('fail')
    } finally {
      await holder.release()
    }
  })
})
