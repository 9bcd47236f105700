import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {k2ops} from '../helpers/cli.js'
import {isProcessAlive} from '../helpers/warehouse.js'
import {holdWarehouse} from '../helpers/warehouse-holder.js'

const NOW = '2024-08-10T12:34:56Z'

/** The README's form: `2024-08-08T23:55:00Z`, six fraction digits only when there are fractions. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(?!0{6})\d{6})?Z$/
/** Anything that looks like an instant, inside any string (DuckDB's `2024-08-08 23:55:00`, `.000Z`, no zone). */
const INSTANT_LIKE = /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?/g
/** Field names that hold instants: their value is never an epoch number. */
const INSTANT_FIELD = /(At|_at|Since|since|^from|^to|Through|_start|_end|timestamp|Micros|scheduledFor|nextRun|first|last|cutoff|time)$/i

/** Every instant-looking value in a --json document that is not in the one form, with its path. */
function offenders(document: unknown, path = ''): string[] {
  if (typeof document === 'string') {
    return [...document.matchAll(INSTANT_LIKE)].filter((m) => !CANONICAL.test(m[0])).map((m) => `${path}: ${m[0]}`)
  }

  if (typeof document === 'number') {
    const key = path.split('.').at(-1) ?? ''
    return INSTANT_FIELD.test(key) && !/Ms$|Seconds$|Days$/.test(key) ? [`${path}: the number ${document}`] : []
  }

  if (Array.isArray(document)) return document.flatMap((item, index) => offenders(item, `${path}[${index}]`))
  if (document && typeof document === 'object') return Object.entries(document).flatMap(([key, value]) => offenders(value, path ? `${path}.${key}` : key))
  return []
}

describe('one ISO-8601 form for instants in every --json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k2ops-json-'))
  const home = join(dir, 'demo')
  const daemons: number[] = []
  afterAll(() => {
    for (const pid of daemons) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL')
    rmSync(dir, {recursive: true, force: true})
  })

  beforeAll(async () => {
    const demo = await k2ops(['demo', '--home', home, '--trades', '2000', '--json'], {K2OPS_NOW: NOW})
    expect(demo.exitCode, demo.stderr).toBe(0)
    expect(offenders(demo.json)).toEqual([])
    const config = join(home, 'config.json')
    // The scheduler's API on a free port: tests run side by side.
    writeFileSync(config, JSON.stringify({...(existsSync(config) ? JSON.parse(readFileSync(config, 'utf8')) : {}), scheduler: {port: 0}}))
  })

  // Some thirty whole k2ops processes one after another: minutes on a loaded machine.
  it('in the output of every command', async () => {
    const tape = join(dir, 'BTCUSDT-trades-2024-08-10.csv')
    writeFileSync(tape, '3735683259,61837.63000000,0.02000000,1236.75260000,1723293000123,True,True\n3735683260,x,0.048,2968.2,1723293000617,True,True\n')
    const commands = [
      ['ingest', tape, '--skip-bad-rows', '--exchange', 'BINANCE'],
      ['trigger', 'all', '--direct'],
      ['backfill', '--timeframe', 'all', '--from', '2024-08-10', '--to', '2024-08-10T12:00:00Z'],
      ['runs'],
      ['validate'],
      ['gaps'],
      ['reconcile'],
      ['freshness'],
      ['inspect', 'trades'],
      ['health', 'daily'],
      ['candles', 'BTCUSDT'],
      ['retention', '--dry-run'],
      ['retention', '--history'],
      ['recover', '--auto', '--dry-run'],
      ['recover', '--date', '2024-08-10', '--dry-run'],
      ['deployments'],
      ['deployments', 'pause', 'ohlcv-1m-scheduled'],
      ['deployments', 'resume', 'ohlcv-1m-scheduled'],
      ['scheduler', 'start'],
      ['scheduler', 'status'],
      ['scheduler', 'logs'],
      ['scheduler', 'stop'],
      ['init'],
    ]
    const found: string[] = []
    for (const args of commands) {
      const result = await k2ops([...args, '--home', home, '--json'], {K2OPS_NOW: NOW})
      expect(result.json, `${args.join(' ')}: ${result.stdout} ${result.stderr}`).toBeDefined()
      if (args[1] === 'start' && result.json.pid) daemons.push(result.json.pid)
      found.push(...offenders(result.json).map((where) => `${args.join(' ')}: ${where}`))
    }

    expect(found).toEqual([])
  }, 240_000)

  it('in the JSON error of a busy warehouse (the holder note)', async () => {
    const holder = await holdWarehouse(join(home, 'warehouse.duckdb'), 'test holder')
    try {
      const result = await k2ops(['validate', '--home', home, '--lock-timeout', '0', '--json'], {K2OPS_NOW: NOW})
      expect(result.exitCode).toBe(4)
      expect(result.json.error.message).toMatch(/since \d{4}-/)
      expect(offenders(result.json)).toEqual([])
    } finally {
      await holder.release()
    }
  })
})
