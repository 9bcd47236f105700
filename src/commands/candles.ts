import {Args, Flags} from '@oclif/core'

import type {CandleRow} from '../pipeline/engine/engine.js'

import {BaseCommand} from '../base-command.js'
import {TIMEFRAMES, Timeframe} from '../pipeline/timeframes.js'
import {withEngine} from '../pipeline/engine/index.js'
import {renderCandleChart} from '../render/candle-chart.js'
import {renderTable} from '../render/table.js'
import {timeWindowFlags} from '../time-window-flags.js'

export interface CandlesResult {
  symbol: string
  exchange: string | null
  timeframe: Timeframe
  candles: CandleRow[]
}

export default class Candles extends BaseCommand<typeof Candles> {
  static override summary = 'Show the latest candles of a symbol as a table (and a chart on a terminal).'
  static override examples = [
    '<%= config.bin %> candles BTCUSDT',
    '<%= config.bin %> candles BTCUSDT --exchange BINANCE --timeframe 5m --limit 48',
    '<%= config.bin %> candles BTCUSDT --timeframe 1m --from 2024-08-08T23:50:00Z --to 2024-08-09T00:00:00Z --json',
  ]

  static override args = {
    symbol: Args.string({description: 'Symbol, as stored (e.g. BTCUSDT).', required: true}),
  }

  static override flags = {
    exchange: Flags.string({char: 'e', summary: 'Only this exchange (e.g. BINANCE).'}),
    timeframe: Flags.option({char: 't', summary: 'Candle timeframe.', options: TIMEFRAMES, default: '1m' as const})(),
    ...timeWindowFlags({from: 'First window start to show'}),
    limit: Flags.integer({char: 'n', summary: 'Show at most this many candles (the newest).', default: 20, min: 1, max: 100_000}),
  }

  async run(): Promise<CandlesResult> {
    const symbol = this.args.symbol.toUpperCase()
    const exchange = this.flags.exchange?.toUpperCase()
    const now = this.now()
    const {fromMicros, toMicros} = this.timeWindow({toNow: false}, now)
    const {candles, markets} = await withEngine(this.home, {...this.warehouseOptions('candles'), readOnly: true}, async (engine) => {
      const rows = await engine.readCandles({symbol, exchange, timeframe: this.flags.timeframe, fromMicros, toMicros, limit: this.flags.limit})
      return {candles: rows, markets: rows.length === 0 ? await engine.knownMarkets(this.flags.timeframe) : []}
    })
    if (!this.jsonEnabled()) await this.display(symbol, candles, markets)
    return {symbol, exchange: exchange ?? null, timeframe: this.flags.timeframe, candles}
  }

  private async display(symbol: string, candles: CandleRow[], markets: Array<{symbol: string; exchange: string}>): Promise<void> {
    if (candles.length === 0) {
      const known = markets.map((m) => `${m.symbol}@${m.exchange}`).join(', ')
      this.log(`No ${this.flags.timeframe} candles for ${symbol}${this.flags.exchange ? ` on ${this.flags.exchange}` : ''} in that range.${known ? ` Markets with candles: ${known}` : ''}`)
      return
    }

    this.log(
      renderTable(
        ['WINDOW START (UTC)', 'EXCHANGE', 'OPEN', 'HIGH', 'LOW', 'CLOSE', 'VOLUME', 'TRADES', 'VWAP', 'QUOTE VOLUME', 'TAKER BUY VOLUME'],
        candles.map((c) => [c.window_start, c.exchange, c.open_price, c.high_price, c.low_price, c.close_price, c.volume, c.trade_count, c.vwap, exact(c.quote_volume), exact(c.taker_buy_volume)]),
        {alignRight: [2, 3, 4, 5, 6, 7, 8, 9, 10]},
      ),
    )
    const exchanges = new Set(candles.map((c) => c.exchange))
    if (this.interactive && exchanges.size === 1 && candles.length > 1) {
      const chalk = process.env.NO_COLOR ? undefined : (await import('chalk')).default
      const width = Math.max(10, (process.stdout.columns || 80) - 16)
      const shown = candles.slice(-width)
      this.log('')
      this.log(
        renderCandleChart(
          shown.map((c) => ({open: Number(c.open_price), high: Number(c.high_price), low: Number(c.low_price), close: Number(c.close_price)})),
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
