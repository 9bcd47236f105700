import {UsageError} from '../errors.js'
import {KLINE_COLUMNS, KLINE_FILL_COMMAND} from '../schema.js'

// A warehouse made before the kline columns: what a write into (or a read of) its candle tables
// fails with, told as the command that upgrades it.

const MISSING = /not found|cannot be resolved|does not have a column|UNRESOLVED_COLUMN|cannot resolve|no such column/i

/** The error a candle write or read raised, or, when it failed on a kline column the table lacks, what to do about it. */
export function klineColumnsMissing(error: unknown, target: string): unknown {
  const message = (error as Error)?.message ?? ''
  const column = KLINE_COLUMNS.find((c) => message.includes(c.name))
  if (!column || !MISSING.test(message)) return error
  return new UsageError(`${target}: the candle tables have no ${column.name} column yet (made before the kline fields): run k2ops init to add them`, {
    code: 'schema_outdated',
    hint: `then ${KLINE_FILL_COMMAND} fills them for the candles built before`,
    cause: error,
  })
}

/** Runs a candle write or read, telling a warehouse without the kline columns as such. */
export async function usingKlineColumns<T>(target: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw klineColumnsMissing(error, target)
  }
}
