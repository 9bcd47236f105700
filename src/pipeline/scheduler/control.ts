import type {Home} from '../home.js'
import type {SchedulerClient} from './api-client.js'

import {closeSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {ExitCode, K2Error} from '../errors.js'
import {openPrivateFile, privateDir} from '../private-files.js'
import {isProcessRunning} from '../process-owner.js'
import {DaemonFiles, DaemonState, alreadyRunningError, daemonFiles, isDaemonAlive, readDaemonState, readToken, releaseDaemonState} from './daemon-files.js'

// The home's scheduler daemon as any k2ops process sees and drives it: is one running, start one
// (detached, or in this process), stop it, connect to its API. One daemon per home.

/** What the home's pid file says: no daemon, a daemon that died and left its file, or one that runs. */
export type DaemonLookup = {status: 'stopped'; files: DaemonFiles} | {status: 'dead' | 'running'; files: DaemonFiles; daemon: DaemonState}

export function findDaemon(home: Pick<Home, 'logsDir' | 'stateDir'>): DaemonLookup {
  const files = daemonFiles(home.stateDir, home.logsDir)
  const daemon = readDaemonState(files.stateFile)
  if (!daemon) return {status: 'stopped', files}
  return {status: isDaemonAlive(daemon) ? 'running' : 'dead', files, daemon}
}

export interface StartOptions {
  /** bin/run.js of this k2ops: the daemon runs it, and its flow processes too. */
  bin: string
  /** After downtime, run each flow whose ticks were missed once. */
  catchUp: boolean
}

export interface StartOutcome {
  pid: number
  port: number
  logFile: string
}

const START_WAIT_MS = 15_000

/**
 * Starts the daemon detached (`scheduler start --foreground` in its own process group, so that it
 * outlives the caller) and waits until its API listens. A daemon that already runs is refused.
 */
export async function startScheduler(home: Home, options: StartOptions): Promise<StartOutcome> {
  const files = refuseIfRunning(home)
  const {spawn} = await import('node:child_process')
  privateDir(home.logsDir)
  // What the daemon prints before its log is open (a bad config, a port in use) lands here.
  const outFile = join(home.logsDir, 'scheduler.out')
  const out = openPrivateFile(outFile, 'w')
  const args = [options.bin, 'scheduler', 'start', '--foreground', '--home', home.dir, '--warehouse', home.warehouse]
  if (!options.catchUp) args.push('--no-catch-up')
  const child = spawn(process.execPath, args, {detached: true, stdio: ['ignore', out, out], env: {...process.env, NO_COLOR: '1'}})
  closeSync(out)
  let exited: number | null = null
  child.once('exit', (code) => {
    exited = code ?? 1
  })
  child.unref()
  const deadline = Date.now() + START_WAIT_MS
  while (Date.now() < deadline) {
    if (exited !== null) break
    const state = readDaemonState(files.stateFile)
    if (state && state.pid === child.pid && state.port) return {pid: state.pid, port: state.port, logFile: files.logFile}
    await sleep(100)
  }

  const why = readFileSync(outFile, 'utf8').trim().split('\n').filter((line) => line.startsWith('k2ops:')).pop()
  if (exited === null) child.kill('SIGTERM')
  throw new K2Error(why ? why.replace(/^k2ops: /, 'the scheduler did not start: ') : `the scheduler did not start within ${START_WAIT_MS / 1000} s`, {
    code: 'start_failed',
    exit: ExitCode.failed,
    hint: `see ${outFile} and k2ops scheduler logs`,
  })
}

export interface ForegroundOptions extends StartOptions {
  version: string
  /** Echo readable log lines here as well as to the log. */
  echo?: NodeJS.WritableStream
}

/** Runs the daemon in this process (systemd, containers) until it is stopped; returns its log file. */
export async function runSchedulerInForeground(home: Home, options: ForegroundOptions): Promise<{pid: number; logFile: string}> {
  const files = refuseIfRunning(home)
  const {runDaemon} = await import('./daemon.js')
  await runDaemon({home, bin: options.bin, version: options.version, catchUp: options.catchUp, echo: options.echo})
  return {pid: process.pid, logFile: files.logFile}
}

function refuseIfRunning(home: Home): DaemonFiles {
  const found = findDaemon(home)
  if (found.status === 'running') throw alreadyRunningError(found.daemon)
  return found.files
}

export interface StopOptions {
  /** Seconds a running flow may take to finish before it is cancelled. */
  timeoutSeconds: number
  /** Told once the daemon has been asked to stop, before the wait. */
  onStopping?: (pid: number) => void
}

export interface StopOutcome {
  wasRunning: boolean
  pid: number | null
  /** How it ended: gracefully, or killed after the timeout. */
  stopped: 'gracefully' | 'killed' | null
  /** The daemon was not running and its pid file (left by a crash, naming `pid`) was removed. */
  stalePidFile: boolean
}

/** After the flow's timeout, how long the daemon may take to exit before it is killed. */
const KILL_AFTER_SECONDS = 10

/**
 * Stops the daemon gracefully: asks its API (or sends SIGTERM), so it starts no new run and gives
 * the running flow `timeoutSeconds`; a daemon still there after that is killed with its process
 * group (its flow process goes too). A pid file left by a dead daemon is removed.
 */
export async function stopScheduler(home: Home, options: StopOptions): Promise<StopOutcome> {
  const found = findDaemon(home)
  if (found.status === 'stopped') return {wasRunning: false, pid: null, stopped: null, stalePidFile: false}
  const {daemon, files} = found
  if (found.status === 'dead') {
    releaseDaemonState(files.stateFile, daemon.pid)
    return {wasRunning: false, pid: daemon.pid, stopped: null, stalePidFile: true}
  }

  const token = readToken(files.tokenFile)
  let asked = false
  if (daemon.port && token) {
    const {SchedulerClient} = await import('./api-client.js')
    asked = await new SchedulerClient(daemon.port, token)
      .shutdown(options.timeoutSeconds)
      .then(() => true)
      .catch(() => false)
  }

  if (!asked) process.kill(daemon.pid, 'SIGTERM')
  options.onStopping?.(daemon.pid)
  const deadline = Date.now() + (options.timeoutSeconds + KILL_AFTER_SECONDS) * 1000
  while (isProcessRunning(daemon.pid) && Date.now() < deadline) await sleep(100)
  if (!isProcessRunning(daemon.pid)) return {wasRunning: true, pid: daemon.pid, stopped: 'gracefully', stalePidFile: false}
  // The daemon leads its process group (it was started detached): its flow process goes too.
  for (const target of [-daemon.pid, daemon.pid]) {
    try {
      process.kill(target, 'SIGKILL')
    } catch {
      // Already gone, or not a group.
    }
  }

  releaseDaemonState(files.stateFile, daemon.pid)
  return {wasRunning: true, pid: daemon.pid, stopped: 'killed', stalePidFile: false}
}

export interface SchedulerConnection {
  pid: number
  port: number
  /** The bearer token for the API's POSTs; absent when its file is missing. */
  token?: string
  api: SchedulerClient
}

/** The running daemon's API, or undefined when no daemon runs or its API does not listen yet. */
export async function connectToScheduler(home: Pick<Home, 'logsDir' | 'stateDir'>, options: {timeoutMs?: number} = {}): Promise<SchedulerConnection | undefined> {
  const found = findDaemon(home)
  if (found.status !== 'running' || !found.daemon.port) return undefined
  const {SchedulerClient} = await import('./api-client.js')
  const token = readToken(found.files.tokenFile)
  return {pid: found.daemon.pid, port: found.daemon.port, token, api: new SchedulerClient(found.daemon.port, token, options.timeoutMs)}
}
