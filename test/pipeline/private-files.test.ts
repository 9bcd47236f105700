import {chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {AuditLog} from '../../src/pipeline/audit.js'
import {replacePrivateFile} from '../../src/pipeline/private-files.js'
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

describe('replacePrivateFile', () => {
  const tempDir = useTempDir()

  it('removes what a writer killed before its rename left beside the file, and only that', () => {
    const dir = tempDir()
    const file = join(dir, 'ledger.json')
    // A pid that runs (this test's parent) and one that cannot (above the kernel's pid limit).
    const [alive, gone] = [join(dir, `ledger.json.${process.ppid}.tmp`), join(dir, 'ledger.json.999999999.tmp')]
    for (const left of [alive, gone]) writeFileSync(left, '{"half":')
    replacePrivateFile(file, '{"whole": true}')
    expect(readdirSync(dir).sort()).toEqual(['ledger.json', `ledger.json.${process.ppid}.tmp`])
    expect(readFileSync(file, 'utf8')).toBe('{"whole": true}')
  })
})
