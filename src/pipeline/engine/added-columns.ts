import {UsageError} from '../errors.js'
import {COVERED_TRADES, KLINE_COLUMNS, KLINE_FILL_COMMAND} from '../schema.js'

// A warehouse made before the columns k2ops added to the original platform's tables (the kline
// fields, covered_trades): what a write into (or a read of) its candle tables fails with, told as
// the command that upgrades it.

const MISSING = /not found|cannot be resolved|does not have a column|UNRESOLVED_COLUMN|cannot resolve|no such column/i
const ADDED = [...KLINE_COLUMNS.map((c) => ({name: c.name, table: 'the candle tables have'})), {name: COVERED_TRADES.name, table: 'the trades table has'}]

/** The error a candle write or read raised, or, when it failed on an added column the table lacks, what to do about it. */
export function addedColumnMissing(error: unknown, target: string): unknown {
  const message = (error as Error)?.message ?? ''
  const column = ADDED.find((c) => message.includes(c.name))
  if (!column || !MISSING.test(message)) return error
  return new UsageError(`${target}: ${column.table} no ${column.name} column yet (made by an earlier k2ops): run k2ops init to add it`, {
    code: 'schema_outdated',
    hint: `then ${KLINE_FILL_COMMAND} fills the new candle fields for the candles built before`,
    cause: error,
  })
}

/** Runs a candle write or read, telling a warehouse without the added columns as such. */
export async function usingAddedColumns<T>(target: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw addedColumnMissing(error, target)
  }
}
