import {createRequire} from 'node:module'

/**
 * The parts of oclif's HelpFormatter (@oclif/core lib/help/formatter.js) that the root help uses,
 * for a CLI without a theme: section, renderList, wrap and indent, with the very packages oclif
 * formats with (resolved from @oclif/core's own folder, so their versions are the same).
 */
type WrapAnsi = (text: string, columns: number, options: {hard: boolean}) => string

export interface FormatterModules {
  bold(text: string): string
  indent(text: string, count: number): string
  strip(text: string): string
  stringWidth(text: string): number
  widestLine(text: string): number
  wrap: WrapAnsi
}

/** Throws when a package is missing (oclif moved on): the caller then lets oclif answer. */
export function loadFormatterModules(oclifEntry: string): FormatterModules {
  const require = createRequire(oclifEntry)
  const ansis = require('ansis').default ?? require('ansis')
  const supportsColor = require('supports-color')
  // oclif's colorize() asks supports-color first, for stdout and stderr alike; then ansis decides.
  const colors = Boolean(supportsColor.stdout) && Boolean(supportsColor.stderr)
  return {
    bold: (text) => (colors ? ansis.bold(text) : text),
    indent: require('indent-string'),
    strip: (text) => ansis.strip(text),
    stringWidth: require('string-width'),
    widestLine: require('widest-line'),
    wrap: require('wrap-ansi'),
  }
}

/** oclif's terminal width (lib/screen.js): OCLIF_COLUMNS, else the TTY's width (40 at least), else 80. */
export function helpWidth(): number {
  const columns = Number.parseInt(process.env.OCLIF_COLUMNS ?? '', 10)
  if (columns) return columns
  if (!process.stdout.isTTY) return 80
  const width = process.stdout.getWindowSize()[0]
  if (width < 1) return 80
  return Math.max(width, 40)
}

export class RootHelpFormatter {
  constructor(
    private readonly modules: FormatterModules,
    private readonly maxWidth: number,
  ) {}

  indent(body: string, spacing = 2): string {
    return this.modules.indent(body, spacing)
  }

  wrap(body: string, spacing = 2): string {
    return this.modules.wrap(body, this.maxWidth - spacing, {hard: true})
  }

  section(header: string, body: string | Array<[string, string | undefined]>): string {
    const text = typeof body === 'string' ? body : this.renderList(body, {indentation: 2})
    return [this.modules.bold(header), this.indent(text)].join('\n')
  }

  renderList(input: Array<[string, string | undefined]>, opts: {indentation: number; spacer?: string}): string {
    if (input.length === 0) return ''
    const maxLength = this.modules.widestLine(input.map((i) => i[0]).join('\n'))
    let output = ''
    let spacer = opts.spacer || '\n'
    let cur = ''
    for (const [left, r] of input) {
      if (cur) {
        output += spacer
        output += cur
      }

      cur = left || ''
      if (!r) {
        cur = cur.trim()
        continue
      }

      const right = this.wrap(r.trim(), opts.indentation + maxLength + 2)
      const [first, ...lines] = right.split('\n').map((s) => s.trim())
      cur += ' '.repeat(maxLength - this.modules.stringWidth(cur) + 2)
      cur += first
      if (lines.length === 0) continue
      if (lines.length > 4) return this.renderMultiline(input, opts)
      if (!opts.spacer) spacer = '\n'
      cur += '\n'
      cur += this.indent(lines.join('\n'), maxLength + 2)
    }

    if (cur) {
      output += spacer
      output += cur
    }

    return output.trim()
  }

  private renderMultiline(input: Array<[string, string | undefined]>, opts: {indentation: number}): string {
    let output = ''
    for (const [left, right] of input) {
      if (!left && !right) continue
      if (left) output += this.wrap(left.trim(), opts.indentation)
      if (right) {
        output += '\n'
        output += this.indent(this.wrap(right.trim(), opts.indentation + 2), 4)
      }

      output += '\n\n'
    }

    return output.trim()
  }
}
