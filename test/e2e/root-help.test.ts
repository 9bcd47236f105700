import {execa} from 'execa'
import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {BIN} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'

const ROOT = dirname(dirname(BIN))
const hasScript = (await execa('script', ['--version'], {reject: false})).exitCode === 0

/** bin/run.js answers `--help` and `--version` itself; oclif's answer is what it must print. */
async function bothAnswers(args: string[], env: Record<string, string> = {}) {
  const options = {cwd: ROOT, env, extendEnv: true, reject: false, stripFinalNewline: false} as const
  const oclif = await execa('node', ['--input-type=module', '-e', `import {execute} from '@oclif/core'; await execute({dir: ${JSON.stringify(BIN)}, args: process.argv.slice(1)})`, '--', ...args], options)
  const k2ops = await execa('node', [BIN, ...args], options)
  return {k2ops, oclif}
}

describe('k2ops --help and --version without loading oclif', () => {
  const tempDir = useTempDir()

  it('print what oclif prints, at every width and with or without colour', async () => {
    const envs: Array<Record<string, string>> = [{}, {OCLIF_COLUMNS: '30'}, {OCLIF_COLUMNS: '52'}, {OCLIF_COLUMNS: '140'}, {FORCE_COLOR: '1'}, {NO_COLOR: '1'}]
    for (const env of envs) {
      for (const args of [[], ['--help'], ['help'], ['--version']]) {
        const {k2ops, oclif} = await bothAnswers(args, env)
        expect(k2ops.exitCode, `${args.join(' ')} ${JSON.stringify(env)}`).toBe(0)
        expect(k2ops.stdout, `${args.join(' ')} ${JSON.stringify(env)}`).toBe(oclif.stdout)
        expect(k2ops.stderr).toBe(oclif.stderr)
      }
    }
  })

  it('print what oclif prints on a terminal', async () => {
    if (!hasScript) return
    // A terminal as a user has one: CI variables make oclif's colour detection say no even on a tty.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(CI|FORCE_COLOR|NO_COLOR)$/.test(name)))
    const run = (command: string) => execa('script', ['-qc', `stty cols 72; ${command}`, '/dev/null'], {cwd: ROOT, env: {...env, TERM: 'xterm-256color'}, extendEnv: false, reject: false})
    const k2ops = await run(`node ${BIN} --help`)
    const oclif = await run(`node --input-type=module -e "import {execute} from '@oclif/core'; await execute({dir: '${BIN}', args: ['--help']})"`)
    expect(k2ops.stdout).toContain('\u001B[1mCOMMANDS\u001B[22m')
    expect(k2ops.stdout).toBe(oclif.stdout)
  })

  it('leave the help to oclif when a user theme colours it', async () => {
    const config = tempDir()
    mkdirSync(join(config, 'k2ops'))
    writeFileSync(join(config, 'k2ops', 'theme.json'), JSON.stringify({sectionHeader: 'red'}))
    const {k2ops, oclif} = await bothAnswers(['--help'], {FORCE_COLOR: '1', XDG_CONFIG_HOME: config})
    expect(k2ops.stdout).toContain('\u001B[31m')
    expect(k2ops.stdout).toBe(oclif.stdout)
  })
})
