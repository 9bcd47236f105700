import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import {WarehouseBusyError} from '../../src/pipeline/errors.js'
import {lockTarget, targetLockFile} from '../../src/pipeline/engine/spark/target-lock.js'
import {resolveHome} from '../../src/pipeline/home.js'
import {distModule} from '../helpers/spark.js'
import {useTempDir} from '../helpers/temp-home.js'

/** Another process that takes the target's lock (through k2ops' own module) and keeps it until stdin closes. */
async function holdTarget(home: string, operation: string) {
  const script = `
    const {lockTarget} = await import(${JSON.stringify(distModule('pipeline/engine/spark/target-lock.js'))})
    const {resolveHome} = await import(${JSON.stringify(distModule('pipeline/home.js'))})
    const lock = await lockTarget(resolveHome({home: process.argv[1], defaultDir: process.argv[1]}), {operation: ${JSON.stringify(operation)}, lockTimeoutMs: 5000})
    process.stdin.on('end', () => { lock.release(); process.exit(0) }).resume()
    process.stdout.write('held\\n')`
  const holder = spawn('node', ['--input-type=module', '-e', script, home], {stdio: ['pipe', 'pipe', 'inherit']})
  const exited = new Promise<void>((done) => holder.on('exit', () => done()))
  await new Promise<void>((done, fail) => {
    holder.stdout.on('data', (chunk) => String(chunk).includes('held') && done())
    void exited.then(() => fail(new Error('the holder exited before holding the lock')))
  })
  return {pid: holder.pid!, kill: async () => (holder.kill('SIGKILL'), exited), release: async () => (holder.stdin.end(), exited)}
}

describe('the Spark target lock (home + catalog + namespace)', () => {
  const tempDir = useTempDir('k2ops-spark-lock-')

  it('makes a second holder wait, then fail with the busy error (exit 4) naming the first', async () => {
    const dir = tempDir()
    const home = resolveHome({home: dir, defaultDir: dir})
    const first = await holdTarget(dir, 'OHLCV-1m-Pipeline')
    try {
      const error = await lockTarget(home, {operation: 'retention', lockTimeoutMs: 300, retryEveryMs: 50}).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(WarehouseBusyError)
      const busy = error as WarehouseBusyError
      expect(busy.exit).toBe(4)
      expect(busy.message).toMatch(new RegExp(`^target iceberg\\.market_data is busy: pid ${first.pid} \\(OHLCV-1m-Pipeline, since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\) holds it; waited 0\\.3 s$`))
      expect(busy.holder).toMatchObject({pid: first.pid, operation: 'OHLCV-1m-Pipeline'})
    } finally {
      await first.release()
    }

    // Released: the next one gets it at once, and its release removes the file.
    const lock = await lockTarget(home, {operation: 'retention', lockTimeoutMs: 0})
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toMatchObject({pid: process.pid, operation: 'retention'})
    lock.release()
    expect(existsSync(lock.file)).toBe(false)
  })

  it('takes over the lock of a holder that died without releasing it', async () => {
    const dir = tempDir()
    const home = resolveHome({home: dir, defaultDir: dir})
    const dead = await holdTarget(dir, 'backfill')
    await dead.kill()
    expect(JSON.parse(readFileSync(targetLockFile(home), 'utf8')).pid).toBe(dead.pid)
    const lock = await lockTarget(home, {operation: 'recover', lockTimeoutMs: 0})
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toMatchObject({pid: process.pid, operation: 'recover'})
    lock.release()
  })

  it('is one lock per target: another namespace is not held by it', async () => {
    const dir = tempDir()
    const home = resolveHome({home: dir, defaultDir: dir})
    const other = {...home, spark: {...home.spark, namespace: 'other'}}
    const lock = await lockTarget(home, {operation: 'flow', lockTimeoutMs: 0})
    const second = await lockTarget(other, {operation: 'flow', lockTimeoutMs: 0})
    expect(second.file).not.toBe(lock.file)
    second.release()
    lock.release()
  })
})
