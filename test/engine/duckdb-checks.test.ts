import {copyFileSync, existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, vi} from 'vitest'

import type {Timeframe} from '../../src/pipeline/timeframes.js'
import type {CandleKey} from './checks.suite.js'

import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'
import {TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {k2ops} from '../helpers/cli.js'
import {CHECKS_DEMO, CHECKS_NOW, checksSuite} from './checks.suite.js'

// The shared checks suite on a DuckDB demo home; a fault is undone by restoring the warehouse file.
vi.setConfig({testTimeout: 120_000})
const dir = mkdtempSync(join(tmpdir(), 'k2ops-checks-duckdb-'))
const home = join(dir, 'demo')
const file = join(home, 'warehouse.duckdb')

beforeAll(async () => {
  const demo = await k2ops(['demo', '--home', home, ...CHECKS_DEMO, '--json'], {K2OPS_NOW: CHECKS_NOW, K2OPS_ENGINE: 'duckdb'})
  expect(demo.exitCode, demo.stderr).toBe(0)
}, 120_000)
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** Runs one statement on the warehouse and returns the undo: the file as it was before. */
async function fault(sql: string, params: Record<string, string>): Promise<() => Promise<void>> {
  const backup = join(dir, 'before.duckdb')
  const warehouse = await Warehouse.open(file, {operation: 'test fault', lockTimeoutMs: 5000})
  try {
    await warehouse.run('CHECKPOINT')
    copyFileSync(file, backup)
    await warehouse.run(sql, params)
  } finally {
    await warehouse.close()
  }

  return async () => {
    copyFileSync(backup, file)
    if (existsSync(`${file}.wal`)) rmSync(`${file}.wal`)
  }
}

checksSuite({
  name: 'DuckDB',
  home: () => home,
  changeCandle: (tf: Timeframe, key: CandleKey, set: Record<string, string>) =>
    fault(
      `UPDATE ${TIMEFRAME_SPECS[tf].table} SET ${Object.entries(set).map(([column, value]) => `${column} = ${value}`).join(', ')}
       WHERE symbol = $symbol AND exchange = $exchange AND window_start = $start::TIMESTAMP`,
      {symbol: key.symbol, exchange: key.exchange, start: key.windowStart.replace('Z', '')},
    ),
  deleteCandles: (tf, fromIso, market) =>
    fault(
      `DELETE FROM ${TIMEFRAME_SPECS[tf].table} WHERE window_start >= $start::TIMESTAMP${market ? ' AND symbol = $symbol AND exchange = $exchange' : ''}`,
      market ? {start: fromIso.replace('Z', ''), ...market} : {start: fromIso.replace('Z', '')},
    ),
})
