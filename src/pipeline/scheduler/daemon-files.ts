import {randomBytes} from 'node:crypto'
import {existsSync, readFileSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {ExitCode, K2Error} from '../errors.js'
import {openPrivateFile, privateDir, writeAndClose, writePrivateFile} from '../private-files.js'
import {isOwnerAlive} from '../process-owner.js'

/** What the running daemon says of itself in `<home>/state/scheduler.json`. */
export interface DaemonState {
  pid: number
  /** The daemon's start time in clock ticks since boot (Linux), so that a reused pid is not taken for it. */
  pidStartTicks?: number
  startedAt: string
  /** The API's port on 127.0.0.1; absent until the API listens. */
  port?: number
  version: string
  warehouse: string
}

export interface DaemonFiles {
  stateFile: string
  tokenFile: string
  logFile: string
}

export function daemonFiles(stateDir: string, logsDir: string): DaemonFiles {
  return {stateFile: join(stateDir, 'scheduler.json'), tokenFile: join(stateDir, 'scheduler.token'), logFile: join(logsDir, 'scheduler.log')}
}

/**
 * Does `pid` run a k2ops scheduler? A pid file can outlive its daemon and the pid be reused by
 * another program; on Linux the command line tells them apart.
 */
function hasSchedulerCommandLine(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
    return cmdline.includes('scheduler')
  } catch {
    // No /proc (not Linux): trust the pid.
    return true
  }
}

export function readDaemonState(file: string): DaemonState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DaemonState
  } catch {
    return undefined
  }
}

/** Does the daemon that wrote this state still run (the same process, not a program that got its pid)? */
export function isDaemonAlive(state: DaemonState): boolean {
  return isOwnerAlive(state) && hasSchedulerCommandLine(state.pid)
}

/** The refusal of a second daemon on a home, naming the one that runs. */
export function alreadyRunningError(holder: DaemonState): K2Error {
  return new K2Error(`a scheduler already runs on this home: pid ${holder.pid}, since ${holder.startedAt}`, {
    code: 'already_running',
    exit: ExitCode.failed,
    hint: 'k2ops scheduler status shows it; k2ops scheduler stop stops it',
  })
}

export type ClaimResult = {claimed: true} | {claimed: false; holder: DaemonState}

/**
 * Takes the home for this daemon: creates the state file exclusively. A file left by a dead daemon
 * is stale and replaced; one of a live daemon is refused with its state.
 */
export function claimDaemonState(file: string, state: DaemonState): ClaimResult {
  privateDir(join(file, '..'))
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeAndClose(openPrivateFile(file, 'wx'), JSON.stringify(state) + '\n')
      return {claimed: true}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = readDaemonState(file)
      if (holder && holder.pid !== state.pid && isDaemonAlive(holder)) return {claimed: false, holder}
      rmSync(file, {force: true})
    }
  }

  const holder = readDaemonState(file)
  return holder ? {claimed: false, holder} : {claimed: true}
}

export function updateDaemonState(file: string, state: DaemonState): void {
  const temporary = `${file}.${process.pid}.tmp`
  writePrivateFile(temporary, JSON.stringify(state) + '\n')
  renameSync(temporary, file)
}

/** Removes the state file if it is still this process's. */
export function releaseDaemonState(file: string, pid = process.pid): void {
  if (readDaemonState(file)?.pid === pid) rmSync(file, {force: true})
}

/** A fresh bearer token for the API's POSTs, readable by the home's owner only. */
export function writeToken(file: string): string {
  const token = randomBytes(32).toString('hex')
  writePrivateFile(file, token + '\n')
  return token
}

export function readToken(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined
}
