import {ChildProcess, spawn} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {resolveHome} from '../../../src/pipeline/home.js'
import {processStartTime} from '../../../src/pipeline/process-owner.js'
import {connectToScheduler, findDaemon, startScheduler, stopScheduler} from '../../../src/pipeline/scheduler/control.js'
import {BIN} from '../../helpers/cli.js'
import {useTempDir} from '../../helpers/temp-home.js'

// The scheduler's lifecycle as any k2ops process drives it: a real daemon (the built CLI), and
// stand-ins whose command line says "scheduler" for the cases a real daemon does not show on demand.

const onLinux = processStartTime(process.pid) !== undefined
const children: ChildProcess[] = []
const daemons: number[] = []

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
  for (const pid of daemons.splice(0)) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL')
      } catch {
        // gone
      }
    }
  }
})

/** A process that looks like a daemon to the pid file check; `ignoreTerm` makes it outlast SIGTERM. */
async function standIn(options: {ignoreTerm?: boolean} = {}): Promise<number> {
  const script = `${options.ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} process.stdout.write('ready\\n'); setInterval(() => {}, 60_000)`
  const child = spawn(process.execPath, ['-e', script, 'scheduler'], {stdio: ['ignore', 'pipe', 'ignore'], detached: true})
  children.push(child)
  // Ready once it has said so: its SIGTERM handler is in place by then.
  await new Promise((resolve) => child.stdout!.once('data', resolve))
  return child.pid!
}

describe('the scheduler seen and driven from another process', () => {
  const tempDir = useTempDir('k2ops-control-')

  function newHome(config: Record<string, unknown> = {}) {
    const dir = join(tempDir(), 'home')
    mkdirSync(dir, {mode: 0o700})
    writeFileSync(join(dir, 'config.json'), JSON.stringify({scheduler: {port: 0}, ...config}))
    return resolveHome({home: dir, defaultDir: dir, env: {}})
  }

  function writePidFile(home: {stateDir: string}, pid: number): string {
    mkdirSync(home.stateDir, {recursive: true, mode: 0o700})
    const file = join(home.stateDir, 'scheduler.json')
    writeFileSync(file, JSON.stringify({pid, pidStartTicks: processStartTime(pid), startedAt: '2024-08-10T00:00:00.000Z', version: '0', warehouse: 'w.duckdb'}))
    return file
  }

  it('no pid file: stopped; stopping it says it was not running', async () => {
    const home = newHome()
    expect(findDaemon(home).status).toBe('stopped')
    expect(await connectToScheduler(home)).toBeUndefined()
    expect(await stopScheduler(home, {timeoutSeconds: 1})).toEqual({wasRunning: false, pid: null, stopped: null, stalePidFile: false})
  })

  it.runIf(onLinux)('a pid file left by a dead daemon: dead; stopping removes it and names its pid', async () => {
    const home = newHome()
    const pid = await standIn()
    const file = writePidFile(home, pid)
    children.pop()!.kill('SIGKILL')
    for (let i = 0; i < 100 && findDaemon(home).status === 'running'; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(findDaemon(home)).toMatchObject({status: 'dead', daemon: {pid}})
    expect(await stopScheduler(home, {timeoutSeconds: 1})).toEqual({wasRunning: false, pid, stopped: null, stalePidFile: true})
    expect(existsSync(file)).toBe(false)
  })

  it.runIf(onLinux)('a daemon without an API is stopped with SIGTERM; one that ignores it is killed after the timeout', async () => {
    const home = newHome()
    const polite = await standIn()
    writePidFile(home, polite)
    expect(findDaemon(home)).toMatchObject({status: 'running', daemon: {pid: polite}})
    // Running, but its API does not listen: nothing to connect to.
    expect(await connectToScheduler(home)).toBeUndefined()
    const told: number[] = []
    expect(await stopScheduler(home, {timeoutSeconds: 5, onStopping: (pid) => told.push(pid)})).toEqual({wasRunning: true, pid: polite, stopped: 'gracefully', stalePidFile: false})
    expect(told).toEqual([polite])

    const stubborn = await standIn({ignoreTerm: true})
    const file = writePidFile(home, stubborn)
    expect(await stopScheduler(home, {timeoutSeconds: 0})).toEqual({wasRunning: true, pid: stubborn, stopped: 'killed', stalePidFile: false})
    expect(existsSync(file)).toBe(false)
  }, 30_000)

  it('starts a real daemon detached, refuses a second, connects to its API, and stops it gracefully', async () => {
    const home = newHome()
    const started = await startScheduler(home, {bin: BIN, catchUp: false})
    daemons.push(started.pid)
    expect(started).toEqual({pid: expect.any(Number), port: expect.any(Number), logFile: join(home.logsDir, 'scheduler.log')})
    expect(findDaemon(home)).toMatchObject({status: 'running', daemon: {pid: started.pid, port: started.port}})
    await expect(startScheduler(home, {bin: BIN, catchUp: false})).rejects.toMatchObject({code: 'already_running', message: expect.stringContaining(`pid ${started.pid}`)})

    const connection = await connectToScheduler(home)
    expect(connection).toMatchObject({pid: started.pid, port: started.port, token: expect.any(String)})
    expect(await connection!.api.health()).toMatchObject({ok: true, pid: started.pid})

    expect(await stopScheduler(home, {timeoutSeconds: 10})).toEqual({wasRunning: true, pid: started.pid, stopped: 'gracefully', stalePidFile: false})
    expect(findDaemon(home).status).toBe('stopped')
  }, 30_000)

  it('a daemon that cannot start says why, from what it printed before its log opened', async () => {
    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    try {
      const port = (busy.address() as {port: number}).port
      const home = newHome({scheduler: {port}})
      await expect(startScheduler(home, {bin: BIN, catchUp: false})).rejects.toMatchObject({
        code: 'start_failed',
        message: `the scheduler did not start: the API port 127.0.0.1:${port} is in use`,
      })
      expect(findDaemon(home).status).toBe('stopped')
    } finally {
      busy.close()
    }
  }, 30_000)
})
