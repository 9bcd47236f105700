import {describe, expect, it} from 'vitest'

import {chartColumns, renderCandleChart} from '../../src/render/candle-chart.js'

// The terminal chart of `k2ops candles`: candles, a volume row and a time axis, within the terminal.

const candle = (minute: number, open: number, close: number, volume: number) => ({
  open,
  close,
  high: Math.max(open, close) + 1,
  low: Math.min(open, close) - 1,
  volume,
  start: `2024-08-08T23:${String(minute).padStart(2, '0')}:00Z`,
})

describe('renderCandleChart', () => {
  it('draws a volume row scaled to the largest volume and a time axis under the first, middle and last candle', () => {
    const candles = Array.from({length: 30}, (_, i) => candle(i, 100 + i, 101 + i, i === 10 ? 8 : 1))
    const lines = renderCandleChart(candles, {height: 6}).split('\n')
    expect(lines).toHaveLength(6 + 3)
    const volume = lines[6]
    expect(volume).toMatch(/^ *volume ┤/)
    const bars = volume.slice(volume.indexOf('┤') + 1)
    expect(bars).toHaveLength(30)
    expect(bars[10]).toBe('█')
    expect(bars[0]).toBe('▁')
    expect(lines[7]).toMatch(/└─{30}$/)
    // One day: hours and minutes; the first label starts under the first candle, the last ends under the last.
    const axis = lines[8]
    const offset = lines[7].indexOf('└') + 1
    expect(axis.slice(offset, offset + 5)).toBe('23:00')
    expect(axis.trimEnd().endsWith('23:29')).toBe(true)
    expect(axis).toContain('23:15')
  })

  it('fits the terminal: the columns left beside the price scale', () => {
    expect(chartColumns(80, [{high: 61000.5, low: 60000}])).toBe(80 - '61000.5'.length - 3)
    expect(chartColumns(12, [{high: 61000.5, low: 60000}])).toBe(10)
  })
})
