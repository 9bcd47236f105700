import {expect, it} from 'vitest'

import type {AuditRecord} from '../../src/pipeline/audit.js'
import type {CliResult} from '../helpers/cli.js'
import type {CandleKey, CandleSnapshot} from '../helpers/candle-snapshot.js'
import type {RecoverSuiteEngine} from './recover.suite.js'

import {alterCount, changedKeys, keyText, pick, snapshot} from '../helpers/candle-snapshot.js'
import {DAY, DEMO_NOW, REPAIRED_AT} from './recover-home.js'

// --symbol/--exchange on backfill, trigger and recover: the market's candles are rebuilt, every other
// market's stay as they were. Part of the recover suite (its demo home, and the rule that every test
// leaves the home clean).

export interface MarketScopeContext {
  engine: RecoverSuiteEngine
  home: string
  cli: (args: string[], now?: string) => Promise<CliResult>
  audit: () => AuditRecord[]
  /** The home's candles as the tests left them (clean), and what the next test starts from. */
  clean: () => CandleSnapshot
  setClean: (next: CandleSnapshot) => void
  /** The candle holds its clean values again, updated_at the repair's. */
  expectRepaired: (after: CandleSnapshot, key: CandleKey) => void
}

export function marketScopeTests(context: MarketScopeContext): void {
  const {engine, home, cli, audit, expectRepaired} = context

  /** Breaks the n-th 1m candle of the day of BTCUSDT and of ETHUSDT on Binance: the market asked for, and another. */
  async function breakBoth(n: number): Promise<{clean: CandleSnapshot; mine: CandleKey; other: CandleKey; broken: CandleSnapshot}> {
    const clean = context.clean()
    const [mine, other] = [pick(clean, '1m', 'BTCUSDT BINANCE', DAY, n), pick(clean, '1m', 'ETHUSDT BINANCE', DAY, n)]
    await engine.execute(home, (table) => [...alterCount(mine)(table), ...alterCount(other)(table)])
    return {clean, mine, other, broken: await snapshot(engine, home)}
  }

  it('backfill --symbol/--exchange: the dry run counts that market only, and the backfill rebuilds its candles and leaves every other market as it was', async () => {
    const {clean, mine, other, broken} = await breakBoth(120)
    const range = ['backfill', '--timeframe', '1m', '--from', DAY, '--to', '2024-08-09', '--symbol', 'btcusdt', '--exchange', 'binance', '--force', '--json']
    const dry = await cli([...range, '--dry-run'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    const stored = [...clean.keys()].filter((key) => key.startsWith(`1m BTCUSDT BINANCE ${DAY} `)).length
    expect(dry.json).toMatchObject({market: {symbol: 'BTCUSDT', exchange: 'BINANCE'}, days: [{day: DAY, timeframes: ['1m'], candlesStored: stored}]})
    expect(changedKeys(broken, await snapshot(engine, home))).toEqual([])

    const real = await cli(range)
    expect(real.exitCode, real.stderr).toBe(0)
    expect(real.json).toMatchObject({market: {symbol: 'BTCUSDT', exchange: 'BINANCE'}, days: 1, candles: stored})
    const after = await snapshot(engine, home)
    // Only the broken candle of that market changed (back to its values); the other market's stays broken.
    expect(changedKeys(broken, after)).toEqual([keyText(mine)])
    expectRepaired(after, mine)
    expect(after.get(keyText(other))).toEqual(broken.get(keyText(other)))
    const rest = await cli(['backfill', '--timeframe', '1m', '--from', DAY, '--to', '2024-08-09', '--symbol', 'ETHUSDT', '--force', '--json'])
    expect(rest.exitCode, rest.stderr).toBe(0)
    const repaired = await snapshot(engine, home)
    context.setClean(repaired)
    expect(repaired.get(keyText(other))).toEqual({...after.get(keyText(other)), trade_count: String(Number(after.get(keyText(other))!.trade_count) - 1), updated_at: REPAIRED_AT})
  })

  it('trigger --symbol/--exchange recomputes that market\'s lookback only, and records it so', async () => {
    const clean = context.clean()
    const latest = (market: string) => {
      const keys = [...clean.keys()].filter((key) => key.startsWith(`1m ${market} 2024-08-10 `)).sort()
      const [, symbol, exchange, date, time] = keys.at(-3)!.split(' ')
      return {timeframe: '1m' as const, symbol, exchange, start: `${date} ${time}`}
    }
    const [mine, other] = [latest('BTCUSDT BINANCE'), latest('ETHUSDT BINANCE')]
    await engine.execute(home, (table) => [...alterCount(mine)(table), ...alterCount(other)(table)])
    const broken = await snapshot(engine, home)
    // At the demo's instant, so that no window closed since is written (the home stays as the other tests expect it).
    const run = await cli(['trigger', '1m', '--lookback', '2h', '--symbol', 'BTCUSDT', '--exchange', 'BINANCE', '--direct', '--json'], DEMO_NOW)
    expect(run.exitCode, run.stderr).toBe(0)
    expect(run.json.runs[0]).toMatchObject({state: 'Completed', note: 'only BTCUSDT on BINANCE', lateWindows: 0})
    const after = await snapshot(engine, home)
    expect(changedKeys(broken, after)).toEqual([keyText(mine)])
    expect(after.get(keyText(mine))).toEqual({...clean.get(keyText(mine)), updated_at: '2024-08-10 12:34:56'})
    expect((await cli(['trigger', '1m', '--lookback', '2h', '--symbol', 'ETHUSDT', '--direct', '--json'], DEMO_NOW)).exitCode).toBe(0)
    const repaired = await snapshot(engine, home)
    context.setClean(repaired)
    expect(changedKeys(after, repaired)).toEqual([keyText(other)])
  })

  it('recover --symbol/--exchange: --auto plans and checks that market only and repairs it; --date rebuilds one symbol\'s day', async () => {
    const {clean, mine, other, broken} = await breakBoth(140)
    const everyMarket = await cli(['recover', '--auto', '--dry-run', '--json'])
    const dry = await cli(['recover', '--auto', '--symbol', 'BTCUSDT', '--exchange', 'BINANCE', '--dry-run', '--json'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.json).toMatchObject({mode: 'auto', market: {symbol: 'BTCUSDT', exchange: 'BINANCE'}, outcome: 'planned', before: {status: 'fail'}})
    // The other market's broken candle is not this repair's: fewer offending rows than over every market.
    expect(dry.json.before.failing.map((entry: {check: string}) => entry.check)).toContain('reconcile 1m')
    expect(dry.json.before.rows).toBeLessThan(everyMarket.json.before.rows)
    expect(changedKeys(broken, await snapshot(engine, home))).toEqual([])

    const real = await cli(['recover', '--auto', '--symbol', 'BTCUSDT', '--exchange', 'BINANCE', '--yes', '--json'])
    expect(real.exitCode, real.stderr).toBe(0)
    expect(real.json).toMatchObject({outcome: 'repaired', after: {status: 'pass', rows: 0}})
    expect(real.json.plan).toEqual(dry.json.plan)
    let after = await snapshot(engine, home)
    expect(changedKeys(broken, after)).toEqual([keyText(mine)])
    expectRepaired(after, mine)
    expect(audit().at(-1)).toMatchObject({id: real.json.auditId, outcome: 'completed', details: {mode: 'auto', market: {symbol: 'BTCUSDT', exchange: 'BINANCE'}}})

    // --date with a symbol: that symbol's candles of the day, on every exchange.
    const day = await cli(['recover', '--date', DAY, '--timeframe', '1m', '--symbol', 'ethusdt', '--yes', '--json'])
    expect(day.exitCode, day.stderr).toBe(0)
    const stored = [...clean.keys()].filter((key) => key.startsWith('1m ETHUSDT ') && key.includes(` ${DAY} `)).length
    expect(day.json).toMatchObject({market: {symbol: 'ETHUSDT'}, outcome: 'repaired', plan: {totals: {ranges: 1, candles: stored}}, after: {status: 'pass'}})
    after = await snapshot(engine, home)
    expect(changedKeys(clean, after)).toEqual([keyText(mine), keyText(other)].sort())
    expectRepaired(after, other)
    context.setClean(after)
  })
}
