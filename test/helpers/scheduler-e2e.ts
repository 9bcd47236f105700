import {readFileSync, writeFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, expect} from 'vitest'

import {isProcessRunning} from '../../src/pipeline/process-owner.js'
import {k2ops} from './cli.js'
import {holdWarehouse} from './warehouse-holder.js'

// Real daemons for the end-to-end tests: a home with the API on a free port, start, raw HTTP calls,
// and the cleanup that never leaves a daemon (or the flow process in its group) behind.

/** Daemons started by a test: killed after it, whatever it did (the temp home may be gone by then). */
export const started: number[] = []

/** A daemon that exited is gone even before init reaps it (a zombie a moment longer). */
export const alive = isProcessRunning

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** A home with an empty warehouse and the API on a free port. */
export async function newHome(dir: string, config: Record<string, unknown> = {}): Promise<string> {
  const home = join(dir, 'home')
  expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
  writeFileSync(join(home, 'config.json'), JSON.stringify({scheduler: {port: 0}, ...config}))
  return home
}

export function token(home: string): string {
  return readFileSync(join(home, 'state', 'scheduler.token'), 'utf8').trim()
}

export async function startScheduler(home: string, extra: string[] = [], env: Record<string, string> = {}): Promise<{pid: number; port: number}> {
  const result = await k2ops(['scheduler', 'start', '--home', home, '--json', ...extra], env)
  expect(result.exitCode, result.stderr + result.stdout).toBe(0)
  started.push(result.json.pid)
  return result.json
}

/** A raw HTTP call, to see exactly what the API answers (status and JSON body). */
export function call(port: number, method: string, path: string, options: {token?: string; body?: string; host?: string} = {}): Promise<{status: number; json: any}> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {}
    if (options.token) headers.authorization = `Bearer ${options.token}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const req = httpRequest({host: options.host ?? '127.0.0.1', port, method, path, headers, timeout: 3000}, (res) => {
      let text = ''
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => {
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {
          json = text
        }

        resolve({status: res.statusCode ?? 0, json})
      })
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('timeout')))
    if (options.body !== undefined) req.write(options.body)
    req.end()
  })
}

/** Another process holding the warehouse read-write, as a long backfill would. */
export const holdHomeWarehouse = (home: string) => holdWarehouse(join(home, 'warehouse.duckdb'), 'test hold')

/** Registers the cleanup: every daemon a test started is killed after it, with its process group. */
export function killDaemonsAfterEach(): void {
  afterEach(() => {
    // Never leave a daemon (or the flow process in its group) behind.
    for (const pid of started.splice(0)) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL')
        } catch {
          // gone
        }
      }
    }
  })
}
