/** A count for people: `1,234`. */
export function count(n: number): string {
  return n.toLocaleString('en-US')
}

/** `n` things, with the plural when it takes one: `1 range`, `2 ranges`, `1,234 rows`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`
}

/** The verb that agrees with `n`: verb(1, 'breaks', 'break'). */
export function verb(n: number, one: string, many: string): string {
  return n === 1 ? one : many
}

/** The first line of a (maybe multi-line) message. */
export function firstLine(text: string): string {
  return text.split('\n')[0]
}
