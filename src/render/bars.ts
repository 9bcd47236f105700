import type {Bar} from '../pipeline/bars.js'

import {renderTable} from './table.js'

/** Trade-driven bars as a table: first and last trade, prices, volume, trades; the last may be open. */
export function renderBars(bars: Bar[]): string {
  return renderTable(
    ['FIRST TRADE (UTC)', 'LAST TRADE (UTC)', 'EXCHANGE', 'OPEN', 'HIGH', 'LOW', 'CLOSE', 'VOLUME', 'TRADES', 'VWAP', 'COMPLETE'],
    bars.map((b) => [b.bar_start, b.bar_end, b.exchange, b.open_price, b.high_price, b.low_price, b.close_price, b.volume, String(b.trade_count), b.vwap, b.complete ? 'yes' : 'no']),
    {alignRight: [3, 4, 5, 6, 7, 8, 9]},
  )
}
