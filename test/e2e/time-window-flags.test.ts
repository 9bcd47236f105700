import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {k2ops} from '../helpers/cli.js'
import {resolveTimeWindow} from '../../src/time-window-flags.js'

const NOW = '2024-08-10T12:34:56Z'
const NOW_MICROS = Date.parse(NOW) * 1000
const DAY = 86_400_000_000

describe('one vocabulary for time windows', () => {
  const home = join(mkdtempSync(join(tmpdir(), 'k2ops-windows-')), 'demo')
  afterAll(() => rmSync(join(home, '..'), {recursive: true, force: true}))
  beforeAll(async () => {
    const demo = await k2ops(['demo', '--home', home, '--trades', '2000', '--json'], {K2OPS_NOW: NOW})
    expect(demo.exitCode, demo.stderr).toBe(0)
  })

  it('every command with a time window takes --from/--to or --lookback', async () => {
    for (const args of [
      ['validate', '--lookback', '30d'],
      ['validate', '--from', '-30d'],
      ['gaps', '--lookback', '1d'],
      ['reconcile', '--lookback', '1d', '--to', '-1h'],
      ['inspect', 'trades', '--lookback', '1h'],
      ['runs', '--lookback', '1d'],
      ['runs', '--from', '2024-08-01', '--to', 'now'],
      ['candles', 'BTCUSDT', '--lookback', '2h'],
      ['backfill', '--timeframe', '1h', '--lookback', '6h'],
    ]) {
      const result = await k2ops([...args, '--home', home, '--json'], {K2OPS_NOW: NOW})
      expect(result.json, `${args.join(' ')}: ${result.stdout}`).toBeDefined()
      expect(result.json.error, args.join(' ')).toBeUndefined()
      expect(result.stderr, args.join(' ')).toBe('')
    }
  })

  it('--from and --lookback together are a usage error', async () => {
    const result = await k2ops(['gaps', '--from', '-1d', '--lookback', '1d', '--home', home, '--json'], {K2OPS_NOW: NOW})
    expect(result.exitCode).toBe(2)
    expect(result.json.error.code).toBe('usage')
  })

  it('the old flags still work for one version, with a one-line note on stderr, never on stdout', async () => {
    const cases: Array<[string[], string[], string]> = [
      [['validate', '--lookback-days', '30'], ['validate', '--lookback', '30d'], 'k2ops: --lookback-days is deprecated: use --lookback 30d'],
      [['inspect', 'trades', '--since', '-1h'], ['inspect', 'trades', '--from', '-1h'], 'k2ops: --since is deprecated: use --from -1h'],
      [['runs', '--since', '-1d'], ['runs', '--from', '-1d'], 'k2ops: --since is deprecated: use --from -1d'],
      [['recover', '--auto', '--lookback-days', '2', '--dry-run'], ['recover', '--auto', '--lookback', '2d', '--dry-run'], 'k2ops: --lookback-days is deprecated: use --lookback 2d'],
    ]
    for (const [old, current, note] of cases) {
      const before = await k2ops([...old, '--home', home, '--json'], {K2OPS_NOW: NOW})
      const after = await k2ops([...current, '--home', home, '--json'], {K2OPS_NOW: NOW})
      expect(before.exitCode, before.stdout).toBe(after.exitCode)
      expect(before.stderr.trim()).toBe(note)
      expect(after.stderr).toBe('')
      expect(withoutVolatile(before.json)).toEqual(withoutVolatile(after.json))
      const text = await k2ops([...old, '--home', home], {K2OPS_NOW: NOW})
      expect(text.stdout).not.toContain('deprecated')
      expect(text.stderr.trim().split('\n')[0]).toBe(note)
    }
  })
})

/** Durations and run ids differ between two runs of the same command. */
function withoutVolatile(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v) => (['durationMs', 'startedAt', 'endedAt', 'at', 'checkedAt', 'id'].includes(key) ? undefined : v)))
}

describe('resolveTimeWindow', () => {
  const resolve = (flags: Parameters<typeof resolveTimeWindow>[0], options: Partial<Parameters<typeof resolveTimeWindow>[1]> = {}) =>
    resolveTimeWindow(flags, {nowMicros: NOW_MICROS, note: () => {}, ...options})

  it('--lookback reaches back from --to; the default applies when neither --from nor --lookback is given', () => {
    expect(resolve({lookback: '2d'})).toEqual({fromMicros: NOW_MICROS - 2 * DAY, toMicros: NOW_MICROS})
    expect(resolve({lookback: '1d', to: '-1d'})).toEqual({fromMicros: NOW_MICROS - 2 * DAY, toMicros: NOW_MICROS - DAY})
    expect(resolve({}, {defaultLookback: '7d'})).toEqual({fromMicros: NOW_MICROS - 7 * DAY, toMicros: NOW_MICROS})
    expect(resolve({}, {toNow: false})).toEqual({fromMicros: undefined, toMicros: undefined})
  })

  it('a window start that is required and missing, or a window that is backwards, is one line', () => {
    expect(() => resolve({}, {requiredBy: 'backfill'})).toThrow('backfill: missing --from (see --help)')
    expect(() => resolve({from: '-1d', to: '-2d'})).toThrow('--from 2024-08-09T12:34:56Z is not before --to 2024-08-08T12:34:56Z')
  })
})
