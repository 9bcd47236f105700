import {appendFileSync, chmodSync, closeSync, fstatSync, fchmodSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {isProcessRunning} from './process-owner.js'

/**
 * Files and folders k2ops keeps inside its home (state/, logs/, rejects/, the token, the pid file,
 * run history, audit trail): readable by the home's owner only. `mode` on open applies only when a
 * file is created, so a file left looser by an older k2ops, a copy or a umask is tightened when
 * k2ops writes it again.
 */
export const PRIVATE_FILE_MODE = 0o600
const PRIVATE_DIR_MODE = 0o700

/** Creates `dir` (and missing parents) 0700, or tightens an existing one to 0700. */
export function privateDir(dir: string): void {
  mkdirSync(dir, {recursive: true, mode: PRIVATE_DIR_MODE})
  tighten(dir, PRIVATE_DIR_MODE)
}

/** Writes (replaces) a file, 0600. */
export function writePrivateFile(file: string, data: string): void {
  writeFileSync(file, data, {mode: PRIVATE_FILE_MODE})
  tighten(file, PRIVATE_FILE_MODE)
}

/**
 * Replaces a file whole, 0600: written beside it and renamed over it, so a kill never leaves half of
 * one. What a writer killed between the two left beside it (`<file>.<pid>.tmp` of a process that is
 * gone) is removed first.
 */
export function replacePrivateFile(file: string, data: string): void {
  removeStaleTemporaries(file)
  const temporary = `${file}.${process.pid}.tmp`
  writePrivateFile(temporary, data)
  renameSync(temporary, file)
}

function removeStaleTemporaries(file: string): void {
  const prefix = `${basename(file)}.`
  let names: string[]
  try {
    names = readdirSync(dirname(file))
  } catch {
    return
  }

  for (const name of names) {
    const pid = name.startsWith(prefix) && name.endsWith('.tmp') ? Number(name.slice(prefix.length, -'.tmp'.length)) : Number.NaN
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isProcessRunning(pid)) rmSync(join(dirname(file), name), {force: true})
  }
}

/** Appends to a file, 0600. */
export function appendPrivateFile(file: string, data: string): void {
  const fd = openPrivateFile(file, 'a')
  try {
    appendFileSync(fd, data)
  } finally {
    closeSync(fd)
  }
}

/** Opens a file for writing with `flags` ('w', 'wx'), 0600 whatever it was; returns the descriptor. */
export function openPrivateFile(file: string, flags: string): number {
  const fd = openSync(file, flags, PRIVATE_FILE_MODE)
  if ((fstatSync(fd).mode & 0o777) !== PRIVATE_FILE_MODE) fchmodSync(fd, PRIVATE_FILE_MODE)
  return fd
}

/** Writes `data` through a descriptor from openPrivateFile and closes it. */
export function writeAndClose(fd: number, data: string): void {
  try {
    writeSync(fd, data)
  } finally {
    closeSync(fd)
  }
}

/** Tightens an existing file or folder k2ops wrote to `mode` (no-op when it is missing or already so). */
export function tighten(path: string, mode: number): void {
  let current: number
  try {
    current = statSync(path).mode & 0o777
  } catch {
    return
  }

  if (current !== mode) chmodSync(path, mode)
}
