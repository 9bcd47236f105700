import {existsSync, statSync, statfsSync} from 'node:fs'
import {dirname} from 'node:path'

import {CheckOptions, CheckResult, checkResult, statusBelow} from './check.js'
import {Thresholds} from './thresholds.js'
import {formatBytes} from './units.js'

export interface StorageOptions extends Pick<CheckOptions, 'limit'> {
  warehouse: string
  thresholds: Thresholds
}

/** The warehouse's size on disk (with its write-ahead log) and the free space beside it. Needs no lock. */
export function storageChecks(options: StorageOptions): CheckResult[] {
  return [warehouseSizeCheck(options.warehouse), diskSpaceCheck(options)]
}

function warehouseSizeCheck(warehouse: string): CheckResult {
  if (!existsSync(warehouse)) return checkResult({name: 'warehouse_size', status: 'fail', summary: `no warehouse at ${warehouse}`, unit: 'bytes', hint: 'k2ops init'})
  const bytes = statSync(warehouse).size + (existsSync(`${warehouse}.wal`) ? statSync(`${warehouse}.wal`).size : 0)
  return checkResult({name: 'warehouse_size', status: 'pass', summary: `${formatBytes(bytes)} in ${warehouse}`, value: bytes, unit: 'bytes'})
}

function diskSpaceCheck(options: StorageOptions): CheckResult {
  const {warn, fail} = options.thresholds.diskFreePercent
  const thresholds = {warn, fail}
  const fs = statfsSync(existsSync(options.warehouse) ? options.warehouse : dirname(options.warehouse))
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
    evidence: status === 'pass' ? [] : [{path: dirname(options.warehouse), free_bytes: free, total_bytes: total}],
    hint: status === 'pass' ? null : 'k2ops retention --dry-run shows what the retention policies would free',
  })
}
