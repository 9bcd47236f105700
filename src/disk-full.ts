import {existsSync, statSync, statfsSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

import {formatBytes} from './checks/units.js'
import {ExitCode, K2Error} from './pipeline/errors.js'

// DuckDB says it in its IO errors ("Could not write file "…": No space left on device"), Node in its code.
const NO_SPACE = /no space left on device/i
const DUCKDB_FILE = /"([^"]+)":\s*No space left on device/i

/**
 * A full disk, told as such: the error (or one that caused it) is ENOSPC from Node or DuckDB. Node
 * does not say which file a write was for, so `fallbackDir` (the home) names where k2ops was writing.
 */
export function diskFullError(error: unknown, fallbackDir?: string): K2Error | undefined {
  let cause: unknown = error
  for (let depth = 0; cause instanceof Error && depth < 5; depth++, cause = cause.cause) {
    // A K2Error's message is already k2ops' own wording; only what caused it is looked at.
    if (cause instanceof K2Error) continue
    const {code, path} = cause as NodeJS.ErrnoException
    if (code !== 'ENOSPC' && !NO_SPACE.test(cause.message)) continue
    const file = path ?? DUCKDB_FILE.exec(cause.message)?.[1]
    return new K2Error(describeFullDisk(file, fallbackDir), {
      code: 'disk_full',
      exit: ExitCode.failed,
      hint: 'Free space there (k2ops retention --dry-run shows what the policies would delete), or move the warehouse (--warehouse); then run the command again.',
      cause: error,
    })
  }

  return undefined
}

function describeFullDisk(file: string | undefined, fallbackDir: string | undefined): string {
  const target = file ?? fallbackDir
  if (target === undefined) return 'disk full: no space left on device'
  const where = file ? `could not write ${file}` : `could not write under ${fallbackDir}`
  const fileSystem = fileSystemOf(resolve(target))
  if (!fileSystem) return `disk full: ${where}`
  return `disk full: ${where}; the file system at ${fileSystem.mountPoint} has ${formatBytes(fileSystem.freeBytes)} free of ${formatBytes(fileSystem.totalBytes)}`
}

/** The mount point of the file system holding `path` (the highest directory on the same device), and its free space as df shows it. */
function fileSystemOf(path: string): {mountPoint: string; freeBytes: number; totalBytes: number} | undefined {
  let existing = path
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing)
  try {
    const device = statSync(existing).dev
    let mountPoint = statSync(existing).isDirectory() ? existing : dirname(existing)
    while (dirname(mountPoint) !== mountPoint && statSync(dirname(mountPoint)).dev === device) mountPoint = dirname(mountPoint)
    const fs = statfsSync(existing)
    return {mountPoint, freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize}
  } catch {
    return undefined
  }
}
