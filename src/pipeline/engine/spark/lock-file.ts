import {readFileSync, rmSync} from 'node:fs'
import {hostname} from 'node:os'

import type {LockHolder} from '../../errors.js'

import {openPrivateFile, writeAndClose} from '../../private-files.js'
import {currentProcess, isOwnerAlive} from '../../process-owner.js'
import {formatMillis} from '../../time.js'

/** Who holds a lock file: the holder note of the busy message, and the process whose death frees it. */
export interface LockFileHolder extends LockHolder {
  pidStartTicks?: number
}

/**
 * A lock that is a file: created with O_EXCL (only one process can), holding its holder's note.
 * Nothing releases it when the holder dies, so a lock whose holder no longer runs (pid and start
 * time, process-owner.ts) is taken over. Returns the holder of the lock when another process has it.
 */
export function tryLockFile(file: string, operation: string): {acquired: true} | {acquired: false; holder?: LockFileHolder} {
  const self = currentProcess()
  const note: LockFileHolder = {pid: self.pid, pidStartTicks: self.pidStartTicks, operation, since: formatMillis(Date.now()), host: hostname()}
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeAndClose(openPrivateFile(file, 'wx'), JSON.stringify(note) + '\n')
      return {acquired: true}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }

    const holder = readLockHolder(file)
    // A file without a readable note is one being written this instant: the writer holds it.
    if (holder === undefined || holder.host !== note.host || isOwnerAlive(holder)) return {acquired: false, holder}
    takeOver(file, holder)
  }

  return {acquired: false, holder: readLockHolder(file)}
}

/** Removes the lock file if this process holds it (a lock taken over meanwhile is left alone). */
export function releaseLockFile(file: string): void {
  const holder = readLockHolder(file)
  const self = currentProcess()
  if (holder?.pid === self.pid && holder.pidStartTicks === self.pidStartTicks) rmSync(file, {force: true})
}

export function readLockHolder(file: string): LockFileHolder | undefined {
  return readPidNote<LockFileHolder>(file)
}

/** A JSON note naming a process (a lock's holder, a driver's note); undefined when missing, unreadable or without a pid. */
export function readPidNote<T extends {pid: number}>(file: string): T | undefined {
  try {
    const note = JSON.parse(readFileSync(file, 'utf8')) as T
    return Number.isSafeInteger(note?.pid) ? note : undefined
  } catch {
    return undefined
  }
}

/**
 * Removes a dead holder's file, unless another process took it over first (then its note differs
 * and the next O_EXCL attempt finds that live holder).
 */
function takeOver(file: string, dead: LockFileHolder): void {
  const now = readLockHolder(file)
  if (now && now.pid === dead.pid && now.pidStartTicks === dead.pidStartTicks && now.since === dead.since) rmSync(file, {force: true})
}
