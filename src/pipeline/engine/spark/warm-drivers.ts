import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import type {Home} from '../../home.js'
import type {WarmDriver, WarmDriversStop} from '../warm-drivers.js'

import {isOwnerAlive} from '../../process-owner.js'
import {readDriverNote} from './driver-files.js'
import {readLockHolder, type LockFileHolder} from './lock-file.js'
import {targetLockFile} from './target-lock.js'

type DriverHome = Pick<Home, 'spark' | 'stateDir' | 'logsDir'>

/**
 * The home's drivers that are up, from their note and socket files only: no connection, no Spark
 * call, so `scheduler status` answers at once even while a driver is busy with a long job.
 */
export function listWarmDrivers(home: DriverHome): WarmDriver[] {
  const dir = join(home.stateDir, 'spark')
  const notes = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.json')) : []
  const drivers: WarmDriver[] = []
  for (const name of notes.sort()) {
    const note = readDriverNote(join(dir, name))
    if (!note || !isOwnerAlive(note)) continue
    drivers.push({pid: note.pid, target: note.target, master: note.master, startedAt: note.startedAt, listening: existsSync(note.socket)})
  }

  return drivers
}

/**
 * Stops every driver of the home, unless a command works on its target now (a flow, backfill,
 * recover or ingest holds one of the target's locks): stopping the driver would end that work, so
 * the drivers are left up and the holder is named. A lock is never taken here, so nothing waits.
 */
export async function stopHomeDrivers(home: DriverHome): Promise<WarmDriversStop> {
  const pids = listWarmDrivers(home).map((driver) => driver.pid)
  const inUse = busyHolder(home)
  if (inUse && pids.length > 0) return {stopped: 0, pids, leftRunning: pids, inUseBy: {pid: inUse.pid, operation: inUse.operation}}
  const {stopDrivers} = await import('./session.js')
  return {stopped: await stopDrivers(home), pids, leftRunning: []}
}

function busyHolder(home: DriverHome): LockFileHolder | undefined {
  for (const file of [targetLockFile(home), targetLockFile(home, 'ingest')]) {
    const holder = readLockHolder(file)
    if (holder && isOwnerAlive(holder)) return holder
  }

  return undefined
}
