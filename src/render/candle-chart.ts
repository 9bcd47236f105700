export interface ChartCandle {
  open: number
  high: number
  low: number
  close: number
}

export interface ChartOptions {
  height?: number
  /** Colours rising candles green and falling red; off when not on a TTY or with NO_COLOR. */
  color?: (rising: boolean, text: string) => string
}

/**
 * A candlestick chart, one column per candle: `┃` the body (open↔close), `│` the wicks
 * (high/low), with the price scale on the left.
 */
export function renderCandleChart(candles: ChartCandle[], options: ChartOptions = {}): string {
  if (candles.length === 0) return ''
  const height = options.height ?? 12
  const high = Math.max(...candles.map((c) => c.high))
  const low = Math.min(...candles.map((c) => c.low))
  const span = high - low || 1
  const row = (price: number) => Math.round(((high - price) / span) * (height - 1))
  const grid: string[][] = Array.from({length: height}, () => candles.map(() => ' '))
  for (const [x, candle] of candles.entries()) {
    const bodyTop = row(Math.max(candle.open, candle.close))
    const bodyBottom = row(Math.min(candle.open, candle.close))
    for (let y = row(candle.high); y <= row(candle.low); y++) {
      const glyph = y >= bodyTop && y <= bodyBottom ? '┃' : '│'
      grid[y][x] = options.color ? options.color(candle.close >= candle.open, glyph) : glyph
    }
  }

  const labels = grid.map((_, y) => formatPrice(high - (span * y) / (height - 1)))
  const width = Math.max(...labels.map((label) => label.length))
  return grid.map((cells, y) => `${labels[y].padStart(width)} ┤${cells.join('')}`).join('\n')
}

function formatPrice(price: number): string {
  if (price >= 1000) return price.toFixed(1)
  if (price >= 1) return price.toFixed(4)
  return price.toPrecision(6)
}
