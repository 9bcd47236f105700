import {execa} from 'execa'
import {mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {diskFullError} from '../../src/disk-full.js'
import {JobFailedError, UsageError} from '../../src/pipeline/errors.js'
import {CliResult, k2ops} from '../helpers/cli.js'

const HINT = 'hint: Free space there (k2ops retention --dry-run shows what the policies would delete), or move the warehouse (--warehouse); then run the command again.'

/** A real, tiny file system: a 2 MiB tmpfs, when this process may mount one (root in a sandbox or CI). */
const mountPoint = mkdtempSync(join(tmpdir(), 'k2ops-full-'))
const mounted = (await execa('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mountPoint], {reject: false})).exitCode === 0
if (!mounted) console.warn(`skipped the full-disk tests on a real file system: cannot mount a tmpfs here (not root, or no mount permission)`)
afterAll(async () => {
  if (mounted) await execa('umount', [mountPoint], {reject: false})
  rmSync(mountPoint, {recursive: true, force: true})
})

/** A Binance trade tape whose rows take more than the tmpfs holds once stored. */
function bigTape(dir: string): string {
  const tape = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
  const start = Date.parse('2024-08-08T00:00:00Z')
  const rows = Array.from({length: 60_000}, (_, i) => `${1_000_000 + i},${(61_000 + (i % 997) / 100).toFixed(8)},0.01${String(i % 1000).padStart(3, '0')},1.0,${start + i * 1000},${i % 2 === 0 ? 'True' : 'False'},True`)
  writeFileSync(tape, rows.join('\n') + '\n')
  return tape
}

function expectDiskFull(text: CliResult, json: CliResult, message: RegExp): void {
  expect(text.exitCode, text.stderr).toBe(1)
  const lines = text.stderr.trimEnd().split('\n').filter((line) => line.startsWith('k2ops:') || line.startsWith('hint:'))
  expect(lines).toEqual([expect.stringMatching(new RegExp(`^k2ops: ${message.source}$`)), HINT])
  expect(json.exitCode).toBe(1)
  expect(json.json).toEqual({error: {code: 'disk_full', exit: 1, message: expect.stringMatching(new RegExp(`^${message.source}$`)), suggestions: [HINT.slice('hint: '.length)]}})
}

const escape = (text: string) => text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe('a full disk is told as such: exit 1, naming the file system and its free space', () => {
  it.runIf(mounted)('DuckDB cannot write its log: the warehouse file and the mount point are named', async () => {
    const home = join(mountPoint, 'ingest-home')
    expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
    const dir = mkdtempSync(join(tmpdir(), 'k2ops-tape-'))
    try {
      const tape = bigTape(dir)
      const [text, json] = [await k2ops(['ingest', tape, '--home', home]), await k2ops(['ingest', tape, '--home', home, '--json'])]
      const wal = escape(join(home, 'warehouse.duckdb.wal'))
      expectDiskFull(text, json, new RegExp(`disk full: could not write ${wal}; the file system at ${escape(mountPoint)} has [\\d.]+ (B|KiB|MiB) free of 2\\.0 MiB`))
    } finally {
      rmSync(dir, {recursive: true, force: true})
      rmSync(home, {recursive: true, force: true})
    }
  })

  it.runIf(mounted)('Node cannot write a state file, DuckDB cannot create the warehouse: the file or the home, and the mount point, with 0 B free', async () => {
    const home = join(mountPoint, 'state-home')
    const newHome = join(mountPoint, 'new-home')
    mkdirSync(home, {mode: 0o700})
    mkdirSync(newHome, {mode: 0o700})
    try {
      // Fill what is left; the write stops at the first block that does not fit.
      writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(4 * 1024 * 1024))
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC')
    }

    expect(statfsSync(mountPoint).bavail).toBe(0)
    const [text, json] = [await k2ops(['deployments', 'pause', '1m', '--home', home]), await k2ops(['deployments', 'pause', '1m', '--home', home, '--json'])]
    expectDiskFull(text, json, new RegExp(`disk full: could not write under ${escape(home)}; the file system at ${escape(mountPoint)} has 0 B free of 2\\.0 MiB`))
    // Opening the warehouse failed as a usage error (exit 2) before: the full disk is the cause it keeps.
    const [init, initJson] = [await k2ops(['init', '--home', newHome]), await k2ops(['init', '--home', newHome, '--json'])]
    expectDiskFull(init, initJson, new RegExp(`disk full: could not write ${escape(join(newHome, 'warehouse.duckdb'))}; the file system at ${escape(mountPoint)} has 0 B free of 2\\.0 MiB`))
    rmSync(join(mountPoint, 'filler'))
    // The failed init left nothing behind that would stop the next one once there is space.
    expect((await k2ops(['init', '--home', newHome])).exitCode).toBe(0)
  })

  it('recognises the shapes ENOSPC takes: DuckDB IO errors, Node errors without a path, and as the cause of a failed job', () => {
    const home = tmpdir()
    const duckdb = new Error('TransactionContext Error: Failed to commit: Could not write file "/data/k2/warehouse.duckdb.wal": No space left on device')
    expect(diskFullError(duckdb, home)?.message).toMatch(/^disk full: could not write \/data\/k2\/warehouse\.duckdb\.wal; the file system at \/\S* has .+ free of .+$/)
    expect(diskFullError(new Error('IO Error: Could not write file "/data/k2/tapes/x.parquet": No space left on device'))?.message).toMatch(/^disk full: could not write \/data\/k2\/tapes\/x\.parquet/)
    const node = Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC', errno: -28, syscall: 'write'})
    expect(diskFullError(node, home)).toMatchObject({code: 'disk_full', exit: 1, message: expect.stringMatching(new RegExp(`^disk full: could not write under ${escape(home)}; the file system at /`))})
    expect(diskFullError(new JobFailedError('OHLCV-1m-Pipeline failed', {cause: node}), home)?.code).toBe('disk_full')
    expect(diskFullError(new UsageError('/data/k2/warehouse.duckdb: cannot open the warehouse: …', {cause: duckdb}), home)?.code).toBe('disk_full')
    // Not a full disk: other IO errors, and k2ops' own errors whatever their words.
    expect(diskFullError(new Error('IO Error: Could not write file "/x": Permission denied'), home)).toBeUndefined()
    expect(diskFullError(Object.assign(new Error('EACCES: permission denied, open'), {code: 'EACCES'}), home)).toBeUndefined()
    expect(diskFullError(new UsageError('--from: no space left on device is not a time'), home)).toBeUndefined()
  })
})
