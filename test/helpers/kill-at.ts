import {execa} from 'execa'

import {BIN} from './cli.js'

/**
 * Runs the CLI as a real child process and kills it (SIGKILL) as soon as its stderr matches `at`:
 * a progress line, or the line of a K2OPS_TEST_PAUSE_AT test hook. Returns how it ended.
 */
export async function killWhenStderr(args: string[], env: Record<string, string>, at: RegExp | string): Promise<{signal: string | undefined; stderr: string}> {
  const child = execa('node', [BIN, ...args], {env: {NO_COLOR: '1', ...env}, reject: false})
  let stderr = ''
  await new Promise<void>((resolve) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      if (typeof at === 'string' ? stderr.includes(at) : at.test(stderr)) {
        child.kill('SIGKILL')
        resolve()
      }
    })
    void child.then(() => resolve())
  })
  const ended = await child
  return {signal: ended.signal, stderr}
}
