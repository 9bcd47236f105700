import {distance} from 'fastest-levenshtein'

// What an unknown key in config.json most likely meant, for its one-line error.

export function unknownKeyText(key: string, known: string[]): string {
  const near = nearestKey(key, known)
  return `unknown key (${near ? `did you mean '${near}'? ` : ''}known: ${known.join(', ')})`
}

/**
 * The known key a typo most likely meant: the one a few edits away; else one that the key is the
 * beginning of with a typo or two (`lockTimout` for lockTimeoutSeconds), or a part of (`1m` for
 * ohlcv-1m-scheduled, as the commands accept it).
 */
function nearestKey(key: string, known: string[]): string | undefined {
  const typed = key.toLowerCase()
  const edits = closest(known, (name) => distance(typed, name))
  // A short key may differ by less than its length: `x` is no typo of anything.
  if (edits.cost <= Math.min(Math.max(2, Math.floor(key.length / 3)), key.length - 1)) return edits.name
  const part = closest(known, (name) => (typed.length >= 2 && name.includes(typed) ? 0 : distance(typed, name.slice(0, typed.length))))
  return part.cost <= Math.floor(key.length / 4) ? part.name : undefined
}

function closest(known: string[], cost: (lowerCaseName: string) => number): {name?: string; cost: number} {
  let best: {name?: string; cost: number} = {cost: Infinity}
  for (const name of known) {
    const own = cost(name.toLowerCase())
    if (own < best.cost) best = {name, cost: own}
  }

  return best
}
