import {execa} from 'execa'
import {describe, expect, it} from 'vitest'

import {BIN, k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'

/** util-linux `script` gives a child a terminal: how a person at a shell runs k2ops. */
const hasScript = (await execa('script', ['--version'], {reject: false})).exitCode === 0

describe('typos get suggestions', () => {
  const tempDir = useTempDir()

  it('a mistyped command names the one that was meant and exits 2, without asking', async () => {
    const home = tempDir()
    const result = await k2ops(['trigr', '1m', '--home', home], {CI: 'true'})
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim()).toBe('k2ops: trigr is not a k2ops command; did you mean trigger? (k2ops --help lists them)')
    expect(result.stdout).toBe('')
    const topic = await k2ops(['health', 'dayly', '--home', home])
    expect(topic.stderr.trim()).toBe('k2ops: health dayly is not a k2ops command; did you mean health daily? (k2ops --help lists them)')
    const nothingNear = await k2ops(['xyzzy'])
    expect(nothingNear.exitCode).toBe(2)
    expect(nothingNear.stderr.trim()).toBe('k2ops: xyzzy is not a k2ops command (k2ops --help lists them)')
  })

  it('with --json the typo is the JSON error, exit 2', async () => {
    const result = await k2ops(['trigr', '1m', '--json'])
    expect(result.exitCode).toBe(2)
    expect(result.json).toEqual({
      error: {code: 'unknown_command', exit: 2, message: 'trigr is not a k2ops command; did you mean trigger? (k2ops --help lists them)', suggestions: ['k2ops trigger']},
    })
  })

  it('--help after a mistyped command gives the same suggestion, exit 2', async () => {
    for (const args of [['trigr', '--help'], ['trigr', '1m', '--help'], ['help', 'trigr']]) {
      const result = await k2ops(args, {CI: 'true'})
      expect([args, result.exitCode]).toEqual([args, 2])
      expect(result.stderr.trim()).toBe('k2ops: trigr is not a k2ops command; did you mean trigger? (k2ops --help lists them)')
      expect(result.stdout).toBe('')
    }

    const topic = await k2ops(['health', 'dayly', '--help'])
    expect(topic.exitCode).toBe(2)
    expect(topic.stderr.trim()).toBe('k2ops: health dayly is not a k2ops command; did you mean health daily? (k2ops --help lists them)')
    const json = await k2ops(['trigr', '--help', '--json'])
    expect(json.exitCode).toBe(2)
    expect(json.json.error).toMatchObject({code: 'unknown_command', suggestions: ['k2ops trigger']})
    const known = await k2ops(['trigger', '--help'])
    expect(known.exitCode).toBe(0)
    expect(known.stdout).toContain('EXIT CODES')
  })

  it('an unknown flag names the nearest flag of the command, never a deprecated one when it has a replacement', async () => {
    const home = tempDir()
    const result = await k2ops(['validate', '--lookbak-days', '3', '--home', home])
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim()).toBe('k2ops: validate: unknown flag --lookbak-days; did you mean --lookback? (see --help)')
    const since = await k2ops(['runs', '--sinse', '2024-08-08', '--home', home])
    expect(since.exitCode).toBe(2)
    expect(since.stderr.trim()).toBe('k2ops: runs: unknown flag --sinse; did you mean --from? (see --help)')
    const json = await k2ops(['trigger', '1m', '--lookbak', '2h', '--home', home, '--json'])
    expect(json.exitCode).toBe(2)
    expect(json.json.error).toEqual({code: 'unknown_flag', exit: 2, message: 'trigger: unknown flag --lookbak; did you mean --lookback? (see --help)', suggestions: ['--lookback']})
  })

  it.runIf(hasScript)('on a terminal under CI=true, or with --json, it suggests and never waits for an answer', async () => {
    for (const args of [['trigr'], ['trigr', '--json']]) {
      // No timeout of our own: a prompt would wait for input that never comes, and the test would hang.
      const command = ['node', BIN, ...args].map((word) => `'${word}'`).join(' ')
      const result = await execa('script', ['-qec', command, '/dev/null'], {reject: false, env: {CI: args.includes('--json') ? undefined : 'true', NO_COLOR: '1'}, input: ''})
      expect(result.exitCode).toBe(2)
      expect(result.stdout).toContain('did you mean trigger?')
      expect(result.stdout).not.toContain('(Y/n)')
    }
  })
})
