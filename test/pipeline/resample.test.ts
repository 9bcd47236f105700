import {describe, expect, it} from 'vitest'

import type {CandleRow} from '../../src/pipeline/engine/engine.js'

import {UsageError} from '../../src/pipeline/errors.js'
import {parseReadTimeframe, windowOf} from '../../src/pipeline/read-timeframe.js'
import {resample} from '../../src/pipeline/resample.js'

// Read timeframes and the exact resampling of stored candles, with hand-computed values.

function child(start: string, values: Partial<CandleRow> & {open: string; high: string; low: string; close: string; volume: string; trades: number; quote: string | null}): CandleRow {
  return {
    symbol: 'BTCUSDT',
    exchange: 'BINANCE',
    window_start: start,
    window_end: start,
    open_price: values.open,
    high_price: values.high,
    low_price: values.low,
    close_price: values.close,
    volume: values.volume,
    trade_count: String(values.trades),
    vwap: '0',
    quote_volume: values.quote,
    taker_buy_volume: values.quote === null ? null : '0.00100000',
    taker_buy_quote_volume: values.quote === null ? null : '10.0000000000000000',
  }
}

describe('read timeframes', () => {
  it('builds each from the largest stored timeframe that tiles it', () => {
    const from = (text: string) => {
      const tf = parseReadTimeframe(text)
      return tf.kind === 'stored' ? `stored ${tf.stored}` : `${tf.kind} from ${tf.source}`
    }

    expect(['1m', '15m', '45m', '90m', '4h', '1h', '2d', '1w', '1M', '7m'].map(from)).toEqual([
      'stored 1m',
      'fixed from 5m',
      'fixed from 5m',
      'fixed from 30m',
      'fixed from 1h',
      'stored 1h',
      'fixed from 1d',
      'fixed from 1d',
      'month from 1d',
      'fixed from 1m',
    ])
    for (const bad of ['0m', '15', '2w', '1y', '15M', 'm5']) expect(() => parseReadTimeframe(bad), bad).toThrow(UsageError)
    expect(() => parseReadTimeframe('2w')).toThrow("--timeframe: '2w' is not a timeframe (expected Nm, Nh, Nd, 1w or 1M, e.g. 15m, 4h, 1w)")
  })

  it('starts weeks on Monday 00:00 UTC and months on the 1st, whatever their length', () => {
    const at = (iso: string) => Date.parse(iso) * 1000
    const iso = (micros: number) => new Date(micros / 1000).toISOString()
    const week = windowOf(parseReadTimeframe('1w'), at('2024-08-08T23:59:00Z'))
    expect([iso(week.start), iso(week.end)]).toEqual(['2024-08-05T00:00:00.000Z', '2024-08-12T00:00:00.000Z'])
    const february = windowOf(parseReadTimeframe('1M'), at('2024-02-29T12:00:00Z'))
    expect([iso(february.start), iso(february.end)]).toEqual(['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'])
    const fourHours = windowOf(parseReadTimeframe('4h'), at('2024-08-08T23:59:00Z'))
    expect([iso(fourHours.start), iso(fourHours.end)]).toEqual(['2024-08-08T20:00:00.000Z', '2024-08-09T00:00:00.000Z'])
  })
})

describe('resample', () => {
  it('first open, last close, max and min, sums, and vwap from the summed quote volume, rounded half away from zero', () => {
    const children = [
      child('2024-08-08T23:45:00Z', {open: '10.00000000', high: '12.00000000', low: '9.00000000', close: '11.00000000', volume: '1.00000000', trades: 2, quote: '10.5000000000000000'}),
      child('2024-08-08T23:50:00Z', {open: '11.00000000', high: '13.00000000', low: '8.50000000', close: '12.00000000', volume: '2.00000000', trades: 3, quote: '23.0000000150000000'}),
      child('2024-08-09T00:00:00Z', {open: '12.00000000', high: '12.00000000', low: '12.00000000', close: '12.00000000', volume: '0.50000000', trades: 1, quote: '6.0000000000000000'}),
    ]
    const [first, second] = resample(children, parseReadTimeframe('15m'))
    // (10.5 + 23.000000015) / 3 = 11.166666671666… → 11.16666667
    expect(first).toEqual({
      symbol: 'BTCUSDT',
      exchange: 'BINANCE',
      window_start: '2024-08-08T23:45:00Z',
      window_end: '2024-08-09T00:00:00Z',
      open_price: '10.00000000',
      high_price: '13.00000000',
      low_price: '8.50000000',
      close_price: '12.00000000',
      volume: '3.00000000',
      trade_count: '5',
      vwap: '11.16666667',
      quote_volume: '33.5000000150000000',
      taker_buy_volume: '0.00200000',
      taker_buy_quote_volume: '20.0000000000000000',
    })
    expect(second).toMatchObject({window_start: '2024-08-09T00:00:00Z', window_end: '2024-08-09T00:15:00Z', vwap: '12.00000000', trade_count: '1'})
  })

  it('has no vwap or quote volume where a child was built before the kline fields', () => {
    const children = [
      child('2024-08-05T00:00:00Z', {open: '1.00000000', high: '1.00000000', low: '1.00000000', close: '1.00000000', volume: '1.00000000', trades: 1, quote: '1.0000000000000000'}),
      child('2024-08-06T00:00:00Z', {open: '2.00000000', high: '2.00000000', low: '2.00000000', close: '2.00000000', volume: '1.00000000', trades: 1, quote: null}),
    ]
    expect(resample(children, parseReadTimeframe('1w'))).toMatchObject([{open_price: '1.00000000', close_price: '2.00000000', volume: '2.00000000', vwap: null, quote_volume: null, taker_buy_volume: null}])
  })
})
