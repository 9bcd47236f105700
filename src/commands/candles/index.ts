import {Args, Flags} from '@oclif/core'

import type {FilledCandle} from '../../pipeline/gap-fill.js'
import type {Bar} from '../../pipeline/bars.js'
import type {ReadCandle} from '../../pipeline/resample.js'

import {BaseCommand} from '../../base-command.js'
import {candleReadFlags, readTimeframeOf} from '../../candle-read-flags.js'
import {sourceOf} from '../../pipeline/read-timeframe.js'
import {UsageError} from '../../pipeline/errors.js'
import {withEngine} from '../../pipeline/engine/index.js'
import {renderBars} from '../../render/bars.js'
import {chartColumns, renderCandleChart} from '../../render/candle-chart.js'
import {renderTable} from '../../render/table.js'
import {timeWindowFlags} from '../../time-window-flags.js'

/** A candle as --json prints it: trade_count a number. */
export type ShownCandle = Omit<ReadCandle | FilledCandle, 'trade_count'> & {trade_count: number | null}

/** `candles --bars`: trade-driven bars instead of time candles. */
export interface BarsResult {
  symbol: string
  exchange: string | null
  bars: Bar[]
}

export interface CandlesResult {
  /** The symbols asked for, as given (upper case). */
  symbol: string
  symbols: string[]
  exchange: string | null
  timeframe: string
  /** The stored timeframe the candles were built from (the timeframe itself when it is stored). */
  builtFrom: string
  candles: ShownCandle[]
}

export default class Candles extends BaseCommand<typeof Candles> {
  static override summary = 'Show the latest candles of one or more symbols as a table (and, for one market, a chart on a terminal).'
  static override examples = [
    '<%= config.bin %> candles BTCUSDT',
    '<%= config.bin %> candles BTCUSDT --exchange BINANCE --timeframe 5m --limit 48',
    '<%= config.bin %> candles BTCUSDT --timeframe 1m --from 2024-08-08T23:50:00Z --to 2024-08-09T00:00:00Z --json',
    '<%= config.bin %> candles BTCUSDT --exchange BINANCE --timeframe 4h --limit 42',
    '<%= config.bin %> candles BTCUSDT,ETHUSDT --timeframe 1h --fill previous --json',
    '<%= config.bin %> candles BTCUSDT --timeframe 1w --from 2024-01-01 --to 2025-01-01',
    '<%= config.bin %> candles BTCUSDT --timeframe 1d --tz Europe/London --day-start 08:00 --limit 30',
  ]

  static override args = {
    symbol: Args.string({description: 'Symbol, as stored (e.g. BTCUSDT), or a comma list (BTCUSDT,ETHUSDT).', required: true}),
  }

  static override flags = {
    exchange: Flags.string({char: 'e', summary: 'Only this exchange (e.g. BINANCE).'}),
    ...candleReadFlags,
    ...timeWindowFlags({from: 'First window start to show'}),
    limit: Flags.integer({char: 'n', summary: 'Show at most this many candles (the newest).', default: 20, min: 1, max: 100_000}),
    bars: Flags.string({
      summary: 'Trade-driven bars instead of time candles: ticks:N (every N trades), volume:X or dollar:X (price·quantity), from the trades of --from/--to.',
      exclusive: ['fill', 'tz', 'day-start'],
    }),
  }

  async run(): Promise<CandlesResult | BarsResult> {
    if (this.flags.bars !== undefined) return this.runBars(this.flags.bars)
    const symbol = this.args.symbol.toUpperCase()
    const symbols = symbol.split(',').map((s) => s.trim()).filter(Boolean)
    const exchange = this.flags.exchange?.toUpperCase()
    const now = this.now()
    const timeframe = readTimeframeOf(this.flags, now)
    const source = sourceOf(timeframe)
    const {fromMicros, toMicros} = this.timeWindow({toNow: false}, now)
    const {readTimeframeCandles} = await import('../../pipeline/candle-read.js')
    const {candles, markets} = await withEngine(this.home, {...this.warehouseOptions('candles'), readOnly: true}, async (engine) => {
      const rows = await readTimeframeCandles(engine, {symbol: symbols, exchange, timeframe, fromMicros, toMicros, limit: this.flags.limit, fill: this.flags.fill, nowMicros: now})
      return {candles: rows, markets: rows.length === 0 ? await engine.knownMarkets(source) : []}
    })
    if (!this.jsonEnabled()) await this.display(symbol, candles, markets)
    const shown = candles.map((c) => ({...c, trade_count: c.trade_count === null ? null : Number(c.trade_count)}))
    return {symbol, symbols, exchange: exchange ?? null, timeframe: timeframe.name, builtFrom: source, candles: shown}
  }

  private async runBars(text: string): Promise<BarsResult> {
    const {parseBarRule, readBars} = await import('../../pipeline/bars.js')
    const rule = parseBarRule(text)
    const symbol = this.args.symbol.toUpperCase()
    const exchange = this.flags.exchange?.toUpperCase()
    const now = this.now()
    const {fromMicros, toMicros} = this.timeWindow({}, now)
    if (fromMicros === undefined || toMicros === undefined) throw new UsageError('--bars needs a range: --from (and --to) or --lookback', {code: 'usage'})
    const bars = await withEngine(this.home, {...this.warehouseOptions('candles --bars'), readOnly: true}, (engine) => readBars(engine, {symbol, exchange, fromMicros, toMicros, rule, limit: this.flags.limit}))
    if (!this.jsonEnabled()) this.log(bars.length === 0 ? `No trades of ${symbol}${exchange ? ` on ${exchange}` : ''} in that range.` : renderBars(bars))
    return {symbol, exchange: exchange ?? null, bars}
  }

  private async display(symbol: string, candles: Array<ReadCandle | FilledCandle>, markets: Array<{symbol: string; exchange: string}>): Promise<void> {
    if (candles.length === 0) {
      const known = markets.map((m) => `${m.symbol}@${m.exchange}`).join(', ')
      this.log(`No ${this.flags.timeframe} candles for ${symbol}${this.flags.exchange ? ` on ${this.flags.exchange}` : ''} in that range.${known ? ` Markets with candles: ${known}` : ''}`)
      return
    }

    const filling = this.flags.fill !== 'none'
    this.log(
      renderTable(
        ['WINDOW START (UTC)', 'SYMBOL', 'EXCHANGE', 'OPEN', 'HIGH', 'LOW', 'CLOSE', 'VOLUME', 'TRADES', 'VWAP', 'QUOTE VOLUME', 'TAKER BUY VOLUME', ...(filling ? ['FILLED'] : [])],
        candles.map((c) => [
          c.window_start,
          c.symbol,
          c.exchange,
          ...[c.open_price, c.high_price, c.low_price, c.close_price, c.volume, c.trade_count, c.vwap].map((value) => value ?? '-'),
          exact(c.quote_volume),
          exact(c.taker_buy_volume),
          ...(filling ? ['filled' in c && c.filled ? 'filled' : ''] : []),
        ]),
        {alignRight: [3, 4, 5, 6, 7, 8, 9, 10, 11]},
      ),
    )
    const shownMarkets = new Set(candles.map((c) => `${c.symbol} ${c.exchange}`))
    if (this.interactive && shownMarkets.size === 1 && candles.length > 1) {
      const chalk = process.env.NO_COLOR ? undefined : (await import('chalk')).default
      // A null fill has no prices to draw; the chart takes the terminal's width.
      const drawn = candles
        .filter((c) => c.open_price !== null)
        .map((c) => ({open: Number(c.open_price), high: Number(c.high_price), low: Number(c.low_price), close: Number(c.close_price), volume: Number(c.volume), start: c.window_start}))
      const shown = drawn.slice(-chartColumns(process.stdout.columns || 80, drawn))
      this.log('')
      this.log(
        renderCandleChart(
          shown,
          {color: chalk ? (rising, text) => (rising ? chalk.green(text) : chalk.red(text)) : undefined},
        ),
      )
    }
  }
}

/** A stored decimal without the zeros its scale pads it with (`12.5000000000000000` → `12.5`); `-` when there is none. */
function exact(value: string | null): string {
  if (value === null) return '-'
  return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value
}
