import {spawn, spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {processStartTime} from '../../src/pipeline/process-owner.js'
import {RunHistory, RunRecord} from '../../src/pipeline/run-history.js'
import {useTempDir} from '../helpers/temp-home.js'

const onLinux = processStartTime(process.pid) !== undefined

function running(id: string, owner: {pid: number; pidStartTicks?: number}): RunRecord {
  return {id, flow: 'OHLCV-1m-Pipeline', deployment: 'ohlcv-1m-scheduled', timeframe: '1m', trigger: 'manual', state: 'Running', startedAt: '2024-08-10T12:00:00.000Z', warehouse: 'w.duckdb', ...owner}
}

/** The pid of a process that has ended (and was reaped). */
function deadPid(): number {
  return spawnSync('true').pid!
}

function storedStates(file: string): string[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as RunRecord).state)
}

describe('RunHistory: runs whose process is gone read as Crashed', () => {
  const tempDir = useTempDir()

  it('a run of a live owner stays Running; one of a dead pid reads Crashed, naming the pid', () => {
    const history = new RunHistory(join(tempDir(), 'runs.jsonl'))
    const dead = deadPid()
    history.write(running('alive', {pid: process.pid, pidStartTicks: processStartTime(process.pid)}))
    history.write(running('dead', {pid: dead}))
    const byId = new Map(history.list().map((run) => [run.id, run]))
    expect(byId.get('alive')).toMatchObject({state: 'Running'})
    expect(byId.get('dead')).toMatchObject({state: 'Crashed', error: `process ${dead} ended while the run was Running`})
    expect(history.get('dead')?.state).toBe('Crashed')
  })

  it.runIf(onLinux)('a pid now used by another process (another start time) is not taken for the owner', () => {
    const history = new RunHistory(join(tempDir(), 'runs.jsonl'))
    history.write(running('reused', {pid: process.pid, pidStartTicks: processStartTime(process.pid)! - 1}))
    expect(history.get('reused')).toMatchObject({state: 'Crashed', error: `process ${process.pid} ended while the run was Running`})
  })

  it('a record without a start time (an older k2ops, or no /proc) is judged by its pid alone', () => {
    const history = new RunHistory(join(tempDir(), 'runs.jsonl'))
    history.write(running('old', {pid: process.pid}))
    expect(history.get('old')?.state).toBe('Running')
  })

  it.runIf(onLinux)('a killed process that is not reaped yet (a zombie) is dead', async () => {
    // The exec'd sleep inherits the backgrounded one and never waits for it: once killed it stays a zombie.
    const shell = spawn('sh', ['-c', 'sleep 60 & echo $!; exec sleep 60'], {stdio: ['ignore', 'pipe', 'ignore']})
    try {
      const pid = Number(await new Promise<string>((resolve) => shell.stdout.once('data', (chunk) => resolve(String(chunk).trim()))))
      // Until the shell has exec'd sleep, the shell itself would reap the killed child.
      for (let i = 0; i < 100 && readFileSync(`/proc/${shell.pid}/comm`, 'utf8').trim() !== 'sleep'; i++) await new Promise((resolve) => setTimeout(resolve, 20))
      process.kill(pid, 'SIGKILL')
      for (let i = 0; i < 100 && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '); i++) await new Promise((resolve) => setTimeout(resolve, 20))
      const history = new RunHistory(join(tempDir(), 'runs.jsonl'))
      history.write(running('zombie', {pid, pidStartTicks: processStartTime(pid)}))
      expect(history.get('zombie')?.state).toBe('Crashed')
    } finally {
      shell.kill('SIGKILL')
    }
  })

  it('markCrashed stores Crashed for runs of dead owners only, and finishIfOpen leaves final runs alone', () => {
    const file = join(tempDir(), 'runs.jsonl')
    const history = new RunHistory(file)
    history.write(running('dead', {pid: deadPid()}))
    history.write(running('alive', {pid: process.pid}))
    expect(history.markCrashed().map((run) => run.id)).toEqual(['dead'])
    expect(storedStates(file)).toEqual(['Running', 'Running', 'Crashed'])
    expect(history.finishIfOpen('dead', {state: 'Cancelled'})).toBeUndefined()
    expect(history.finishIfOpen('alive', {state: 'Cancelled', error: 'x'})).toMatchObject({state: 'Cancelled'})
    expect(storedStates(file)).toEqual(['Running', 'Running', 'Crashed', 'Cancelled'])
  })

  it('start records the owner with its start time', () => {
    const history = new RunHistory(join(tempDir(), 'runs.jsonl'))
    const run = history.start({flow: 'f', deployment: 'd', timeframe: '1m', trigger: 'manual', warehouse: 'w'})
    expect(run).toMatchObject({pid: process.pid, pidStartTicks: processStartTime(process.pid)})
    history.finish(run, {state: 'Completed'})
  })
})
