export interface ChartCandle {
  open: number
  high: number
  low: number
  close: number
  volume: number
  /** The window start, ISO-8601 UTC. */
  start: string
}

export interface ChartOptions {
  height?: number
  /** Colours rising candles green and falling red; off when not on a TTY or with NO_COLOR. */
  color?: (rising: boolean, text: string) => string
}

const VOLUME_BARS = ' ▁▂▃▄▅▆▇█'

/**
 * A candlestick chart, one column per candle: `┃` the body (open↔close), `│` the wicks
 * (high/low), with the price scale on the left, the volume as a bar row beneath, and a time axis.
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
  const width = Math.max(...labels.map((label) => label.length), 'volume'.length)
  const maxVolume = Math.max(...candles.map((c) => c.volume)) || 1
  const volume = candles.map((c) => VOLUME_BARS[Math.round((c.volume / maxVolume) * (VOLUME_BARS.length - 1))]).join('')
  return [
    ...grid.map((cells, y) => `${labels[y].padStart(width)} ┤${cells.join('')}`),
    `${'volume'.padStart(width)} ┤${volume}`,
    `${' '.repeat(width)} └${'─'.repeat(candles.length)}`,
    `${' '.repeat(width + 2)}${timeAxis(candles.map((c) => c.start))}`,
  ].join('\n')
}

/** The chart's width for a terminal of `columns`: what is left beside the price scale. */
export function chartColumns(columns: number, candles: Array<{high: number; low: number}>): number {
  const label = Math.max(...candles.map((c) => formatPrice(c.high).length), ...candles.map((c) => formatPrice(c.low).length), 'volume'.length)
  return Math.max(10, columns - label - 3)
}

/** Time labels under the first, middle and last candle, as far as they fit. */
function timeAxis(starts: string[]): string {
  const sameDay = starts[0].slice(0, 10) === starts.at(-1)!.slice(0, 10)
  const label = (iso: string) => (sameDay ? iso.slice(11, 16) : iso.slice(0, 16).replace('T', ' '))
  const line = Array.from({length: starts.length}, () => ' ')
  const place = (x: number, text: string) => {
    const at = Math.max(0, Math.min(x, line.length - text.length))
    if (line.slice(Math.max(0, at - 1), at + text.length + 1).some((c) => c !== ' ')) return
    for (const [i, char] of [...text].entries()) line[at + i] = char
  }

  place(0, label(starts[0]))
  place(starts.length - label(starts.at(-1)!).length, label(starts.at(-1)!))
  place(Math.floor(starts.length / 2) - 2, label(starts[Math.floor(starts.length / 2)]))
  return line.join('').trimEnd()
}

function formatPrice(price: number): string {
  if (price >= 1000) return price.toFixed(1)
  if (price >= 1) return price.toFixed(4)
  return price.toPrecision(6)
}
