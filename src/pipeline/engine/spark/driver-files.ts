import {join} from 'node:path'

import type {Home} from '../../home.js'

import {readPidNote} from './lock-file.js'
import {digest, sparkTarget} from './target-lock.js'

/** Where a target's driver lives: its socket, its note, its start guard; and the log all drivers share. */
export interface DriverFiles {
  /** The target's name, `iceberg.market_data`. */
  target: string
  dir: string
  socket: string
  /** The running driver's note (DriverNote), for stopping it. */
  note: string
  /** Held while one command starts the driver, so that two commands starting at once make one. */
  startLock: string
  log: string
}

/** What k2ops knows of a driver it started. */
export interface DriverNote {
  /** spark-submit's pid: the JVM (spark-submit execs it), the leader of the driver's process group. */
  pid: number
  pidStartTicks?: number
  master: string
  target: string
  startedAt: string
  socket: string
}

/**
 * The files of this home's driver for its target. The name carries a digest of everything the
 * driver was started with: a changed config gets a driver of its own, and the old one idles out.
 */
export function driverFiles(home: Pick<Home, 'spark' | 'stateDir' | 'logsDir'>, launch: unknown): DriverFiles {
  const target = sparkTarget(home)
  const dir = join(home.stateDir, 'spark')
  const base = join(dir, `${target.name}-${digest([target.key, launch])}`)
  return {target: target.name, dir, socket: `${base}.sock`, note: `${base}.json`, startLock: `${base}.starting`, log: join(home.logsDir, 'spark-driver.log')}
}

export function readDriverNote(file: string): DriverNote | undefined {
  return readPidNote<DriverNote>(file)
}
