import {spawnSync} from 'node:child_process'
import {appendFileSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {describe, expect, it} from 'vitest'

import {AuditLog} from '../../src/pipeline/audit.js'
import {BIN} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'

describe('AuditLog: intent before the change, outcome after, under one id', () => {
  const tempDir = useTempDir('k2ops-audit-')

  it('lists each operation once, as its last line says, in the order they began (newest first)', () => {
    const log = new AuditLog(join(tempDir(), 'state', 'audit.jsonl'))
    const first = log.begin({command: 'retention', at: '2026-03-01T00:00:00Z', details: {planned: {t: 5}}})
    const second = log.append({command: 'recover', at: '2026-03-01T01:00:00Z', outcome: 'failed', error: 'boom', details: {}})
    expect(log.list().map((r) => [r.id, r.outcome])).toEqual([
      [second.id, 'failed'],
      // This process is alive: its intent is a run still going.
      [first.id, 'started'],
    ])
    log.finish(first, {outcome: 'completed', details: {deleted: {t: 5}}})
    const [, done] = log.list()
    expect(done).toMatchObject({id: first.id, outcome: 'completed', details: {planned: {t: 5}, deleted: {t: 5}}, pid: process.pid})
    expect(log.list('retention')).toHaveLength(1)
    expect(readFileSync(log.file, 'utf8').trim().split('\n')).toHaveLength(3)
  })

  it('an intent whose process is gone is interrupted, until a later run records what it found', () => {
    const file = join(tempDir(), 'audit.jsonl')
    // A real process (the built CLI's module) that wrote an intent and ended without an outcome.
    const module = pathToFileURL(resolve(dirname(BIN), '../dist/pipeline/audit.js')).href
    const script = `import {AuditLog} from ${JSON.stringify(module)}; new AuditLog(process.argv[1]).begin({command: 'retention', at: 'x', details: {warehouse: 'w.duckdb'}})`
    expect(spawnSync('node', ['--input-type=module', '-e', script, file]).status).toBe(0)
    const log = new AuditLog(file)
    // --history (no lock held) asks whether the process lives; a run holding the warehouse knows it cannot.
    expect(log.interrupted('retention', 'other.duckdb')).toEqual([])
    const [killed] = log.interrupted('retention', 'w.duckdb')
    expect(killed.outcome).toBe('started')
    expect(log.list()[0].outcome).toBe('interrupted')
    log.finish(killed, {outcome: 'interrupted', details: {found: {t: 5}}})
    expect(log.interrupted('retention', 'w.duckdb')).toEqual([])
    expect(log.list()[0]).toMatchObject({outcome: 'interrupted', details: {found: {t: 5}}})
  })

  it('skips a line cut short by a crash mid-write', () => {
    const log = new AuditLog(join(tempDir(), 'audit.jsonl'))
    const record = log.append({command: 'retention', at: 'x', outcome: 'completed', details: {}})
    appendFileSync(log.file, '{"id": "half')
    expect(log.list().map((r) => r.id)).toEqual([record.id])
  })
})
