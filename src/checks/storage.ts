import {existsSync, statfsSync} from 'node:fs'
import {dirname} from 'node:path'

import {CheckOptions, CheckResult, checkResult, statusBelow} from './check.js'
import {Thresholds} from './thresholds.js'
import {formatBytes} from './units.js'

/** What the engine said of its size: the bytes of its target, or why it could not tell. */
export type StorageSize = {bytes: number; target: string} | {missing: string; hint: string | null}

export interface StorageOptions extends Pick<CheckOptions, 'limit'> {
  size: StorageSize
  /** A path on the file system that holds the warehouse (or the nearest existing parent). */
  disk: string
  thresholds: Thresholds
}

/** The warehouse's size (as its engine counts it) and the free space of the file system that holds it. */
export function storageChecks(options: StorageOptions): CheckResult[] {
  return [warehouseSizeCheck(options.size), diskSpaceCheck(options)]
}

function warehouseSizeCheck(size: StorageSize): CheckResult {
  if ('missing' in size) return checkResult({name: 'warehouse_size', status: 'fail', summary: size.missing, unit: 'bytes', hint: size.hint})
  return checkResult({name: 'warehouse_size', status: 'pass', summary: `${formatBytes(size.bytes)} in ${size.target}`, value: size.bytes, unit: 'bytes'})
}

function diskSpaceCheck(options: StorageOptions): CheckResult {
  const {warn, fail} = options.thresholds.diskFreePercent
  const thresholds = {warn, fail}
  let path = options.disk
  while (!existsSync(path) && dirname(path) !== path) path = dirname(path)
  const fs = statfsSync(path)
  const free = fs.bavail * fs.bsize
  const total = fs.blocks * fs.bsize
  const percent = total > 0 ? Math.round((free / total) * 1000) / 10 : 0
  const status = statusBelow(percent, thresholds)
  return checkResult({
    name: 'disk_space',
    status,
    summary: `${formatBytes(free)} free of ${formatBytes(total)} (${percent}%) on the warehouse's file system`,
    value: percent,
    unit: 'percent free',
    thresholds,
    evidence: status === 'pass' ? [] : [{path, free_bytes: free, total_bytes: total}],
    hint: status === 'pass' ? null : 'k2ops retention --dry-run shows what the retention policies would free',
  })
}
