import {rmSync, statSync, utimesSync} from 'node:fs'
import {join} from 'node:path'

import type {ProcessOwner} from './process-owner.js'

import {privateDir, writePrivateFile} from './private-files.js'
import {currentProcess} from './process-owner.js'

// While a process has runs open (a command's, or the daemon's), it touches a file named after it
// in <home>/state/alive every few seconds. A run whose process is gone then reads as Crashed at the
// time its process was last seen alive, not at the time somebody noticed.

const BEAT_MS = 5000

function beatFile(dir: string, owner: ProcessOwner): string {
  return join(dir, `${owner.pid}-${owner.pidStartTicks ?? 0}`)
}

/** Starts this process's heartbeat in `dir` (written at once); the returned function stops it and removes the file. */
export function startHeartbeat(dir: string): () => void {
  const file = beatFile(dir, currentProcess())
  const beat = () => {
    try {
      const now = new Date()
      utimesSync(file, now, now)
    } catch {
      try {
        privateDir(dir)
        writePrivateFile(file, '')
      } catch {
        // A heartbeat that cannot be written (a full disk) must not stop the run.
      }
    }
  }

  beat()
  const timer = setInterval(beat, BEAT_MS)
  timer.unref()
  return () => {
    clearInterval(timer)
    rmSync(file, {force: true})
  }
}

/** When the owner's heartbeat was last written (ms), or undefined when it has none. */
export function lastSeenAlive(dir: string, owner: ProcessOwner): number | undefined {
  try {
    return statSync(beatFile(dir, owner)).mtimeMs
  } catch {
    return undefined
  }
}

/** Removes a dead owner's heartbeat once its runs are stored Crashed. */
export function forgetHeartbeat(dir: string, owner: ProcessOwner): void {
  rmSync(beatFile(dir, owner), {force: true})
}
