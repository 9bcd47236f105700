import {execa} from 'execa'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/run.js')

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
  /** stdout parsed as JSON, when it is JSON. */
  json: any
}

/** Runs the built CLI as a user would: a real child process, no TTY, no colour. */
export async function k2ops(args: string[], env: Record<string, string | undefined> = {}, options: {timeoutMs?: number; node?: boolean} = {}): Promise<CliResult> {
  // `node`: args are node's own (a preload, then the script), not k2ops'.
  const result = await execa('node', options.node ? args : [BIN, ...args], {
    reject: false,
    env: {NO_COLOR: '1', ...env},
    timeout: options.timeoutMs ?? 120_000,
  })
  let json: unknown
  try {
    json = JSON.parse(result.stdout)
  } catch {
    json = undefined
  }

  return {exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr, json}
}

/**
 * Runs the CLI with a preload that records every native module it loads (process.dlopen): a
 * command that never opened the warehouse has not loaded DuckDB, so it cannot have waited for it.
 */
export async function k2opsTracingNativeModules(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult & {nativeModules: string[]}> {
  const preload = join(mkdtempSync(join(tmpdir(), 'k2ops-dlopen-')), 'record-dlopen.cjs')
  writeFileSync(preload, "const o = process.dlopen; const seen = []; process.dlopen = (m, f, ...r) => { seen.push(f); return o(m, f, ...r) }; process.on('exit', () => process.stderr.write('\\ndlopen:' + JSON.stringify(seen)))")
  try {
    const result = await k2ops(['--require', preload, BIN, ...args], env, {node: true})
    const marker = result.stderr.lastIndexOf('\ndlopen:')
    // No report is no evidence: never read it as "loaded nothing".
    if (marker === -1) throw new Error(`the dlopen preload did not report (exit ${result.exitCode}): ${result.stderr}`)
    const nativeModules = JSON.parse(result.stderr.slice(marker + '\ndlopen:'.length)) as string[]
    return {...result, stderr: result.stderr.slice(0, marker), nativeModules}
  } finally {
    rmSync(dirname(preload), {recursive: true, force: true})
  }
}
