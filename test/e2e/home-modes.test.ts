import {chmodSync, mkdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'

// The home's mode and the modes of the files k2ops writes in it. (real processes, ~15 s)

const modeOf = (path: string) => statSync(path).mode & 0o7777

describe('the home folder and the files in it', () => {
  const tempDir = useTempDir()

  it('creates a new home 0700', async () => {
    const home = join(tempDir(), 'new', 'home')
    expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
    expect(modeOf(home)).toBe(0o700)
  })

  it('creates the warehouse 0600, in the home or where --warehouse says', async () => {
    const home = join(tempDir(), 'home')
    expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
    expect(modeOf(join(home, 'warehouse.duckdb'))).toBe(0o600)
    const elsewhere = join(tempDir(), 'elsewhere.duckdb')
    const init = await k2ops(['init', '--home', home, '--warehouse', elsewhere])
    expect(init.exitCode, init.stderr).toBe(0)
    expect(modeOf(elsewhere)).toBe(0o600)
  })

  it('never changes the mode of a warehouse that is already there', async () => {
    const home = join(tempDir(), 'home')
    expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
    const warehouse = join(home, 'warehouse.duckdb')
    chmodSync(warehouse, 0o640)
    expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
    const trigger = await k2ops(['trigger', '1m', '--direct', '--home', home])
    expect(trigger.exitCode, trigger.stderr).toBe(0)
    expect(modeOf(warehouse)).toBe(0o640)
  })

  it('never changes the mode of an existing home', async () => {
    const home = join(tempDir(), 'shared')
    mkdirSync(home)
    chmodSync(home, 0o755)
    const runs = await k2ops(['runs', '--home', home])
    expect(runs.exitCode, runs.stderr).toBe(0)
    expect(modeOf(home)).toBe(0o755)
  })

  it.each([
    ['1777', 0o1777, 'its group and others'],
    ['0770', 0o770, 'its group'],
    ['0757', 0o757, 'others'],
  ])('refuses a home writable by others (mode %s), in one line, and leaves it as it was', async (octal, mode, who) => {
    const home = join(tempDir(), 'open')
    mkdirSync(home)
    chmodSync(home, mode)
    const runs = await k2ops(['runs', '--home', home])
    expect(runs.exitCode).toBe(2)
    expect(runs.stderr.trim()).toBe(`k2ops: home: ${home} is writable by ${who} (mode ${octal}); use a directory only you can write to`)
    expect(modeOf(home)).toBe(mode)
    const json = await k2ops(['runs', '--home', home, '--json'])
    expect(json.exitCode).toBe(2)
    expect(json.json.error).toMatchObject({code: 'unsafe_home', exit: 2})
  })

  it('tightens the run history, the state and log folders, the token, pid file and logs that an older k2ops left looser', async () => {
    const home = join(tempDir(), 'home')
    expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
    writeFileSync(join(home, 'config.json'), JSON.stringify({scheduler: {port: 0}}))
    const loose: Array<[string, number]> = [
      ['state', 0o755],
      ['logs', 0o755],
      ['state/runs.jsonl', 0o644],
      ['state/scheduler.token', 0o644],
      ['logs/scheduler.log', 0o644],
      ['logs/scheduler.log.1', 0o644],
      ['logs/scheduler.out', 0o666],
    ]
    for (const [path, mode] of loose) {
      const full = join(home, path)
      if (path.includes('.')) writeFileSync(full, '')
      else mkdirSync(full, {recursive: true})
      chmodSync(full, mode)
    }

    const trigger = await k2ops(['trigger', '1m', '--direct', '--home', home])
    expect(trigger.exitCode, trigger.stderr).toBe(0)
    const start = await k2ops(['scheduler', 'start', '--home', home, '--json'])
    expect(start.exitCode, start.stderr).toBe(0)
    try {
      expect(modeOf(join(home, 'state', 'scheduler.json'))).toBe(0o600)
    } finally {
      expect((await k2ops(['scheduler', 'stop', '--home', home])).exitCode).toBe(0)
    }

    for (const [path] of loose) expect([path, modeOf(join(home, path))]).toEqual([path, path.includes('.') ? 0o600 : 0o700])
  })
})
