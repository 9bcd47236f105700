import {execa} from 'execa'
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {expect, it} from 'vitest'

import type {BackfillLedger} from '../../src/pipeline/backfill-ledger.js'
import type {MarketScopeContext} from './market-scope.tests.js'

import {BIN} from '../helpers/cli.js'
import {changedKeys, snapshot} from '../helpers/candle-snapshot.js'
import {REPAIR_NOW} from './recover-home.js'

// A backfill's days as an operator manages them, the same on every engine: a dry run that changes
// nothing, `k2ops runs cancel` from another terminal after the first day, `backfill status`, and
// `--resume` doing the rest. Part of the recover suite: its demo home, left as clean as it was.

const RANGE = ['backfill', '--timeframe', 'all', '--from', '2024-08-07', '--to', '2024-08-10', '--force']
const DAYS = ['2024-08-07', '2024-08-08', '2024-08-09']

export function managedBackfillTests(context: Pick<MarketScopeContext, 'engine' | 'home' | 'cli'>): void {
  const {engine, home, cli} = context

  it('backfill --dry-run changes nothing; runs cancel stops it after a day, status shows that day kept, --resume does the rest and the candles are as they were', async () => {
    const clean = await snapshot(engine, home)
    const ledgers = () => (existsSync(join(home, 'state', 'backfills')) ? readdirSync(join(home, 'state', 'backfills')).sort() : [])
    const before = ledgers()
    const dry = await cli([...RANGE, '--dry-run', '--json'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.json.days.map((day: {day: string}) => day.day)).toEqual(DAYS)
    expect(ledgers()).toEqual(before)

    // The backfill stops (a test hook) once its first day is committed; another terminal cancels it.
    const backfill = execa('node', [BIN, ...RANGE, '--home', home], {reject: false, env: {NO_COLOR: '1', K2OPS_NOW: REPAIR_NOW, K2OPS_TEST_PAUSE_AT: 'after-backfill-day'}})
    await new Promise<void>((resolve, reject) => {
      let text = ''
      backfill.stderr!.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        if (text.includes('paused at after-backfill-day')) resolve()
      })
      void backfill.then(() => reject(new Error(`the backfill ended before its first day was done:\n${text}`)))
    })
    const running = await cli(['runs', '--state', 'Running', '--json'])
    const [run] = running.json.runs
    expect(run).toMatchObject({flow: 'backfill', state: 'Running'})
    const cancel = await cli(['runs', 'cancel', run.id.slice(0, 8), '--json'])
    expect(cancel.exitCode, cancel.stderr).toBe(0)
    const stopped = await backfill
    expect(stopped.signal).toBe('SIGTERM')
    expect(stopped.stderr).toMatch(/recorded Cancelled\. Kept: 1 of 3 days done \(2024-08-07 … 2024-08-07\); rerun `k2ops backfill --resume \w+/)

    const status = await cli(['backfill', 'status', '--json'])
    expect(status.exitCode, status.stderr).toBe(0)
    expect(status.json).toMatchObject({counts: {done: 1, running: 0, pending: 2, failed: 0, total: 3}, lastRun: {state: 'Cancelled'}})
    const {id} = status.json.backfill as BackfillLedger

    const resumed = await cli(['backfill', '--resume', id.slice(0, 8), '--json'])
    expect(resumed.exitCode, resumed.stderr).toBe(0)
    expect(resumed.json).toMatchObject({id, days: 3, daysDoneBefore: 1})
    const after = (await cli(['backfill', 'status', id, '--json'])).json
    expect(after.counts).toEqual({done: 3, running: 0, pending: 0, failed: 0, total: 3})
    const ledger = after.backfill as BackfillLedger
    expect(ledger.days.filter((day) => day.runId === ledger.runs[1]).map((day) => day.day)).toEqual(DAYS.slice(1))
    // A rebuild of candles that were right leaves every one byte-identical.
    expect(changedKeys(clean, await snapshot(engine, home))).toEqual([])
  })
}
