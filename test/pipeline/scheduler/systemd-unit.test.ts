import {describe, expect, it} from 'vitest'

import {schedulerUnit, unitNameOf} from '../../../src/pipeline/scheduler/systemd-unit.js'

/**
 * How systemd reads an ExecStart= value back into argv (systemd.syntax(7) "Quoting",
 * systemd.unit(5) specifiers, systemd.service(5) "$$"): words split on spaces, double or single
 * quotes around a word, C escapes, `%%` for `%`, `$$` for `$`. A lone `%x` or `$X` would be expanded:
 * the reader fails on them, so the test sees any that slipped through.
 */
function systemdArgv(value: string): string[] {
  const words: string[] = []
  let i = 0
  const unescapeSpecials = (word: string) =>
    word.replace(/%(.)|\$(\$|\{?\w)/g, (all, specifier: string | undefined, dollar: string | undefined) => {
      if (specifier === '%' || dollar === '$') return specifier ?? '$'
      throw new Error(`unescaped ${all} in ${value}`)
    })
  while (i < value.length) {
    if (value[i] === ' ') {
      i++
      continue
    }

    let word = ''
    const quote = value[i] === '"' || value[i] === "'" ? value[i++] : null
    while (i < value.length && (quote ? value[i] !== quote : value[i] !== ' ')) {
      if (value[i] === '\\') {
        const next = value[i + 1]
        word += {n: '\n', t: '\t', '\\': '\\', '"': '"', "'": "'", ' ': ' '}[next] ?? next
        i += 2
        continue
      }

      word += value[i++]
    }

    if (quote) i++
    words.push(unescapeSpecials(word))
  }

  return words
}

const execStart = (unit: string) => unit.split('\n').find((line) => line.startsWith('ExecStart='))!.slice('ExecStart='.length)

describe('the systemd unit of the scheduler', () => {
  it('writes plain paths as they are', () => {
    const unit = schedulerUnit({node: '/usr/bin/node', bin: '/opt/k2ops/bin/run.js', home: '/srv/k2ops', warehouse: '/srv/k2ops/warehouse.duckdb'})
    expect(execStart(unit)).toBe('/usr/bin/node /opt/k2ops/bin/run.js scheduler start --foreground --home /srv/k2ops --warehouse /srv/k2ops/warehouse.duckdb')
  })

  it('quotes and escapes spaces, quotes, backslashes, % and $ so systemd reads back exactly the paths', () => {
    const home = `/srv/my "k2" home\\ 100% $HOME \${USER} 'x' ;`
    const warehouse = '/data/50%/$w.duckdb'
    const unit = schedulerUnit({node: '/opt/node 20/bin/node', bin: '/opt/k2ops/bin/run.js', home, warehouse})
    expect(systemdArgv(execStart(unit))).toEqual(['/opt/node 20/bin/node', '/opt/k2ops/bin/run.js', 'scheduler', 'start', '--foreground', '--home', home, '--warehouse', warehouse])
    const description = unit.split('\n').find((line) => line.startsWith('Description='))!
    expect(description).toContain('100%% ')
    expect(description).not.toMatch(/\\$/)
  })

  it('refuses a path with a newline or another control character (it would add a line to the unit)', () => {
    const inject = '/srv/k2ops\nExecStartPre=/bin/rm -rf /'
    expect(() => schedulerUnit({node: '/usr/bin/node', bin: '/b/run.js', home: inject, warehouse: '/w.duckdb'})).toThrow(/the home path ".*" holds a control character \(U\+000A\)/)
    expect(() => schedulerUnit({node: '/usr/bin/node', bin: '/b/run.js', home: '/h', warehouse: '/w\t.duckdb'})).toThrow(/U\+0009/)
  })

  it('names the unit as its file is named, and refuses a file systemd would not load as a service', () => {
    expect(unitNameOf('/etc/systemd/system/candles.service')).toBe('candles.service')
    expect(unitNameOf('/x/k2ops@prod.service')).toBe('k2ops@prod.service')
    expect(() => unitNameOf('/x/k2ops.unit')).toThrow(/NAME\.service/)
    expect(() => unitNameOf('/x/my unit.service')).toThrow(/NAME\.service/)
  })
})
