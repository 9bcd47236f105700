import {existsSync, readFileSync} from 'node:fs'

/**
 * A process as a run record names its owner: the pid, and on Linux the process's start time
 * (/proc/<pid>/stat field 22, clock ticks since boot). Pids are reused; pid and start time together
 * are not, so a run whose owner died is not taken for alive because another program got its pid.
 */
export interface ProcessOwner {
  pid: number
  /** Absent where /proc is missing (not Linux): the pid alone is checked then. */
  pidStartTicks?: number
}

interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), … */
  state: string
  startTime: number
}

/** /proc/<pid>/stat, or undefined (no such process, or no /proc). */
function readProcStat(pid: number): ProcStat | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }

  // Field 2 is the command name in parentheses, and may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const startTime = Number(fields[19])
  return Number.isSafeInteger(startTime) ? {state: fields[0], startTime} : undefined
}

/** The start time of `pid` in clock ticks since boot, or undefined where it cannot be read. */
export function processStartTime(pid: number): number | undefined {
  return readProcStat(pid)?.startTime
}

const HAS_PROC = existsSync('/proc/self/stat')

let self: ProcessOwner | undefined

/** This process, as its run records name it. */
export function currentProcess(): ProcessOwner {
  self ??= ownerFields(process.pid, processStartTime(process.pid))
  return self
}

function ownerFields(pid: number, pidStartTicks: number | undefined): ProcessOwner {
  return pidStartTicks === undefined ? {pid} : {pid, pidStartTicks}
}

/**
 * Does a process with this pid run (ours or not)? A zombie does not: a process killed a moment ago
 * stays one until its parent (often init, which may take seconds) reaps it, and signal 0 still
 * reaches it meanwhile.
 */
export function isProcessRunning(pid: number): boolean {
  return runningStat(pid) !== false
}

/** Is the process that owns a run still that process? Its pid must run and, where known, have started when the run's owner did. */
export function isOwnerAlive(owner: ProcessOwner): boolean {
  const stat = runningStat(owner.pid)
  if (stat === false) return false
  return owner.pidStartTicks === undefined || stat === undefined || stat.startTime === owner.pidStartTicks
}

/** false: `pid` does not run; otherwise its /proc stat, undefined where there is no /proc (read once). */
function runningStat(pid: number): ProcStat | undefined | false {
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it exists, it is only not ours to signal.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }

  const stat = readProcStat(pid)
  // No stat: no /proc on this system (trust the signal), or the process ended a moment ago.
  if (stat === undefined) return HAS_PROC ? false : undefined
  return stat.state !== 'Z' && stat.state !== 'X' ? stat : false
}
