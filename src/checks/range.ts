import {UsageError} from '../pipeline/errors.js'
import {parseInstant} from '../pipeline/time.js'

/** `--from`/`--to` as µs, from before to. */
export function parseRange(from: string, to: string, nowMicros: number): {fromMicros: number; toMicros: number} {
  const fromMicros = parseInstant(from, '--from', nowMicros)
  const toMicros = parseInstant(to, '--to', nowMicros)
  if (fromMicros >= toMicros) throw new UsageError(`--from ${from} is not before --to ${to}`, {code: 'bad_range'})
  return {fromMicros, toMicros}
}
