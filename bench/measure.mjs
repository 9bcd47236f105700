// Helpers of the benchmark: run a child process and measure its wall time and peak RSS.
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'

/** GNU time prints "Maximum resident set size (kbytes)" with -v; busybox and BSD time do not. */
export function gnuTimeAvailable() {
  if (!existsSync('/usr/bin/time')) return false
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/time', ['-v', 'true'], {stdio: ['ignore', 'ignore', 'pipe']})
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.on('error', () => resolve(false))
    child.on('close', (code) => resolve(code === 0 && /Maximum resident set size/.test(err)))
  })
}

/**
 * Runs `cmd args` to completion. Returns {code, ms, stdout, stderr, peakRssKb?}.
 * rss: 'time' wraps the command in `/usr/bin/time -v` (peak RSS from the kernel's rusage);
 * 'proc' polls /proc/<pid>/status VmHWM every 20 ms until exit; undefined measures nothing.
 * The wall time is taken around the whole child (for 'time', /usr/bin/time's fork adds ~1 ms).
 */
export function runProcess(cmd, args, {env, cwd, rss} = {}) {
  return new Promise((resolve, reject) => {
    const argv = rss === 'time' ? ['/usr/bin/time', ['-v', cmd, ...args]] : [cmd, args]
    const started = process.hrtime.bigint()
    const child = spawn(argv[0], argv[1], {env, cwd, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    let hwmKb = 0
    let timer
    if (rss === 'proc') {
      const poll = () => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
          if (m) hwmKb = Math.max(hwmKb, Number(m[1]))
        } catch {
          // The process is gone (or not yet there): keep the last value.
        }
      }
      poll()
      timer = setInterval(poll, 20)
    }
    child.on('error', (error) => {
      if (timer) clearInterval(timer)
      reject(error)
    })
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      if (timer) clearInterval(timer)
      const result = {code, ms, stdout, stderr}
      if (rss === 'time') {
        const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)
        if (m) result.peakRssKb = Number(m[1])
        // Keep the command's own stderr readable: cut GNU time's report off.
        const cut = stderr.lastIndexOf('\tCommand being timed:')
        if (cut >= 0) result.stderr = stderr.slice(0, cut).replace(/^Command (exited with non-zero status|terminated by signal) \d+\n?/m, '')
        const user = /User time \(seconds\): ([\d.]+)/.exec(stderr)
        const system = /System time \(seconds\): ([\d.]+)/.exec(stderr)
        if (user && system) result.cpuSeconds = Number(user[1]) + Number(system[1])
        const exit = /Exit status: (\d+)/.exec(stderr)
        if (exit) result.code = Number(exit[1])
      } else if (rss === 'proc') {
        result.peakRssKb = hwmKb || undefined
      }
      resolve(result)
    })
  })
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Milliseconds of `fn()` (awaited). */
export async function timed(fn) {
  const started = process.hrtime.bigint()
  const value = await fn()
  return {ms: Number(process.hrtime.bigint() - started) / 1e6, value}
}

/**
 * CPU seconds the whole machine spent busy (user+nice+system+irq+softirq) and stolen by the
 * hypervisor, from /proc/stat; undefined where there is no /proc. The difference of two snapshots
 * minus our own CPU time is what other processes took while we measured.
 */
export function machineCpu() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    const [user, nice, system, , , irq, softirq, steal] = fields
    const hz = 100 // USER_HZ: 100 on every Linux ABI node runs on
    return {busy: (user + nice + system + irq + softirq) / hz, steal: (steal ?? 0) / hz}
  } catch {
    return undefined
  }
}

/** What others (and the hypervisor) took between two machineCpu() snapshots, given our own CPU seconds. */
export function contention(before, after, ownCpuSeconds, wallSeconds) {
  if (!before || !after || ownCpuSeconds === undefined) return undefined
  const others = Math.max(0, after.busy - before.busy - ownCpuSeconds)
  return {otherCpuSeconds: +others.toFixed(2), stealSeconds: +(after.steal - before.steal).toFixed(2), otherCoresAverage: +(others / wallSeconds).toFixed(2)}
}

/** Runs `work` on a connection to a DuckDB database (`:memory:` or a file), closed afterwards. */
export async function withDuckDB(path, settings, work) {
  const {DuckDBInstance} = await import('@duckdb/node-api')
  const instance = await DuckDBInstance.create(path, settings)
  const connection = await instance.connect()
  try {
    return await work(connection)
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}
