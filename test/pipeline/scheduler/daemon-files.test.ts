import {ChildProcess, spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {processStartTime} from '../../../src/pipeline/process-owner.js'
import {findDaemon} from '../../../src/pipeline/scheduler/control.js'
import {useTempDir} from '../../helpers/temp-home.js'

const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

describe('the pid file of the scheduler', () => {
  const tempDir = useTempDir()

  it.runIf(processStartTime(process.pid) !== undefined)('names a running daemon only while its pid is still the process that wrote it', async () => {
    // A process whose command line says "scheduler", as a daemon's does.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', 'scheduler'], {stdio: 'ignore'})
    children.push(other)
    await new Promise((resolve) => other.once('spawn', resolve))
    const pid = other.pid!
    const stateDir = tempDir()
    const file = join(stateDir, 'scheduler.json')
    const state = {pid, startedAt: '2024-08-10T00:00:00.000Z', version: '0', warehouse: 'w.duckdb'}
    writeFileSync(file, JSON.stringify({...state, pidStartTicks: processStartTime(pid)}))
    expect(findDaemon({stateDir, logsDir: stateDir})).toMatchObject({status: 'running', daemon: {pid}})
    // The daemon that wrote the file died and its pid went to this process.
    writeFileSync(file, JSON.stringify({...state, pidStartTicks: processStartTime(pid)! - 1}))
    expect(findDaemon({stateDir, logsDir: stateDir}).status).toBe('dead')
  })
})
