import * as v from 'valibot'

import {unknownKeyText} from './config-key-typos.js'
import {parseDuration} from './time.js'

/** The building blocks of the config schemas: each rule carries the text a person reads when a value breaks it. */

export type ConfigIssue = v.BaseIssue<unknown>

type Entries = v.ObjectEntries

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** An object of the given keys, every one optional; any other key is an issue of its own. */
export function section<E extends Entries>(entries: E, allowed = 'an object') {
  const known = Object.keys(entries)
  return v.pipe(
    v.custom<Record<string, unknown>>(isPlainObject, allowed),
    v.strictObject(entries, (issue) => (isUnknownKey(issue) ? unknownKeyText(String(issue.input), known) : allowed)),
  )
}

export function integer(min: number, max: number, allowed = `an integer from ${min} to ${max}`) {
  return v.pipe(v.number(allowed), v.integer(allowed), v.minValue(min, allowed), v.maxValue(max, allowed))
}

export function number(min: number, max: number, allowed: string) {
  return v.pipe(v.number(allowed), v.finite(allowed), v.minValue(min, allowed), v.maxValue(max, allowed))
}

export const nonNegative = () => number(0, Number.MAX_VALUE, 'a non-negative number')

/** A duration as the flags write it (`90s`, `10m`, `2h`, `2d`), within bounds. */
export function duration(minMicros: number, maxMicros: number, allowed: string) {
  return v.pipe(
    v.string(allowed),
    v.check((text) => {
      try {
        const micros = parseDuration(text, '')
        return micros >= minMicros && micros <= maxMicros
      } catch {
        return false
      }
    }, allowed),
  )
}

export const nonEmptyText = (allowed: string) => v.pipe(v.string(allowed), v.nonEmpty(allowed))

/** A key the schema does not know (strictObject's issue), as opposed to a bad value. */
export function isUnknownKey(issue: ConfigIssue): boolean {
  return issue.type === 'strict_object' && issue.expected === 'never'
}
