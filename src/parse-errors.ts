import {distance} from 'fastest-levenshtein'

/** oclif's parse errors as one line each, with the nearest name for a typo. */
export interface ParseFailure {
  code: string
  message: string
  hint?: string
  suggestions?: string[]
}

// Colour codes oclif may put into its messages (dim), which a one-line message does not carry.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[\d;]*m/g

/**
 * The parse errors people hit most, reworded: a missing flag or argument is
 * `backfill: missing --from (see --help)`; an unknown flag names the nearest one. Others: undefined.
 */
export function describeParseError(
  err: Error & {flags?: string[]; args?: Array<{name: string}>},
  command: string,
  flagNames: string[],
  replacedFlags: Readonly<Record<string, string>> = {},
): ParseFailure | undefined {
  const text = (err.message ?? '').replace(ANSI, '')
  const missingFlags = [...text.matchAll(/Missing required flag (\S+)/g)].map((m) => `--${m[1]}`)
  if (missingFlags.length > 0) return {code: 'missing_flag', message: `${command}: missing ${missingFlags.join(', ')} (see --help)`}
  if (err.constructor.name === 'RequiredArgsError' && err.args) {
    return {code: 'missing_argument', message: `${command}: missing ${err.args.map((arg) => arg.name.toUpperCase()).join(', ')} (see --help)`}
  }

  if (err.constructor.name === 'NonExistentFlagsError' && err.flags) {
    const unknown = err.flags.map((flag) => flag.split('=')[0])
    const suggestions = unknown.map((flag) => nearestFlag(flag.replace(/^-+/, ''), flagNames, replacedFlags)).flatMap((name) => (name ? [`--${name}`] : []))
    return {
      code: 'unknown_flag',
      message: `${command}: unknown flag ${unknown.join(', ')}${suggestions.length > 0 ? `; did you mean ${suggestions.join(', ')}?` : ''} (see --help)`,
      suggestions: suggestions.length > 0 ? suggestions : ['See --help for the flags and examples.'],
    }
  }

  return undefined
}

/** The candidate nearest to a typo, when it is near enough to be what was meant. */
function nearestName(typo: string, candidates: readonly string[]): string | undefined {
  return nearest(typo, candidates)?.name
}

/**
 * The flag a typo meant. A deprecated flag (a key of `replacedFlags`) is named only when no other
 * flag is near, and then as its replacement when the command has it: people should learn the new name.
 */
function nearestFlag(typo: string, flagNames: readonly string[], replacedFlags: Readonly<Record<string, string>>): string | undefined {
  const current = nearestName(typo, flagNames.filter((name) => !Object.hasOwn(replacedFlags, name)))
  if (current) return current
  const deprecated = nearestName(typo, flagNames)
  const replacement = deprecated === undefined ? undefined : replacedFlags[deprecated]
  return replacement !== undefined && flagNames.includes(replacement) ? replacement : deprecated
}

/**
 * The command a mistyped `trigr 1m` or `health dayly` meant: each command is compared with as many
 * of the typed words as it has (the rest are its arguments). `typed`: the words it was compared with.
 */
export function nearestCommand(words: string[], commands: readonly string[]): {command: string; typed: string} | undefined {
  let best: {name: string; distance: number; typed: string} | undefined
  for (let n = 1; n <= words.length; n++) {
    const typed = words.slice(0, n).join(' ')
    const match = nearest(typed, commands.filter((command) => command.split(' ').length === n))
    if (match && (!best || match.distance < best.distance)) best = {...match, typed}
  }

  return best && {command: best.name, typed: best.typed}
}

function nearest(typo: string, candidates: readonly string[]): {name: string; distance: number} | undefined {
  let best: {name: string; distance: number} | undefined
  for (const name of candidates) {
    const d = distance(typo.toLowerCase(), name.toLowerCase())
    if (!best || d < best.distance) best = {name, distance: d}
  }

  // Beyond a third of the word, the "nearest" name is a guess, not a correction.
  return best && best.distance <= Math.max(2, Math.ceil(typo.length / 3)) ? best : undefined
}
