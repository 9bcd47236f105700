import {chmodSync, mkdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {AuditLog} from '../../src/pipeline/audit.js'
import {RejectsFile} from '../../src/pipeline/ingest/rejects-file.js'
import {useTempDir} from '../helpers/temp-home.js'

const modeOf = (path: string) => statSync(path).mode & 0o777

/** A file and its folder left looser than k2ops writes them (an older k2ops, a copy, a umask). */
function looseFile(dir: string, name: string): string {
  mkdirSync(dir, {recursive: true})
  chmodSync(dir, 0o755)
  const file = join(dir, name)
  writeFileSync(file, '')
  chmodSync(file, 0o644)
  return file
}

describe('files k2ops writes in its home are private even when they were not', () => {
  const tempDir = useTempDir()

  it('the audit trail', () => {
    const file = looseFile(join(tempDir(), 'state'), 'audit.jsonl')
    new AuditLog(file).append({command: 'retention', at: '2024-08-10T00:00:00Z', outcome: 'completed', details: {}})
    expect([modeOf(join(file, '..')), modeOf(file)]).toEqual([0o700, 0o600])
  })

  it('a rejects file', async () => {
    const file = looseFile(join(tempDir(), 'rejects'), 'tape.csv.rejected.csv')
    const rejects = new RejectsFile(file)
    rejects.add(3, 'price', 'not a number', 'abc')
    await rejects.close()
    expect([modeOf(join(file, '..')), modeOf(file)]).toEqual([0o700, 0o600])
  })
})
