import {Flags} from '@oclif/core'

import type {ReadTimeframe} from './pipeline/read-timeframe.js'

import {FILL_MODES} from './pipeline/gap-fill.js'
import {parseReadTimeframe} from './pipeline/read-timeframe.js'

/** How `candles` and `candles export` read candles: any timeframe, days in a time zone, gap fill. */
export const candleReadFlags = {
  timeframe: Flags.string({
    char: 't',
    summary: 'Candle timeframe: a stored one (1m, 5m, 30m, 1h, 1d) or any Nm, Nh, Nd, 1w (from Monday), 1M (calendar months), built exactly from the stored candles.',
    default: '1m',
  }),
  tz: Flags.string({summary: 'Days (1d, 1w, 1M) in this IANA time zone, DST included (e.g. Europe/London; default UTC).', helpGroup: 'CALENDAR'}),
  'day-start': Flags.string({summary: 'Days (1d, 1w, 1M) start at this local time, HH:MM (default 00:00).', helpGroup: 'CALENDAR'}),
  fill: Flags.option({
    summary: 'Windows without trades: none (absent), null (a row of nulls) or previous (flat at the previous close, no volume); every row then says filled or not.',
    options: FILL_MODES,
    default: 'none' as const,
  })(),
}

/** The read timeframe the flags ask for. */
export function readTimeframeOf(flags: {timeframe: string; tz?: string; 'day-start'?: string}, nowMicros: number): ReadTimeframe {
  return parseReadTimeframe(flags.timeframe, {tz: flags.tz, dayStart: flags['day-start'], nowMicros})
}
