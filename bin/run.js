#!/usr/bin/env node
import module from 'node:module'
import {fileURLToPath} from 'node:url'

// Node 22.1+ keeps the compiled code of every module between runs (most of a command's start-up).
if (typeof module.enableCompileCache === 'function') module.enableCompileCache()

// `k2ops`, `k2ops --help` and `k2ops --version` print oclif's own text from the manifests,
// without the ~100 ms of loading @oclif/core; anything unusual goes to oclif all the same.
async function rootAnswer(argv) {
  if (argv.length > 1 || (argv.length === 1 && !['--help', '--version', 'help'].includes(argv[0]))) return undefined
  const answer = await import('../dist/root-help/answer.js').catch(() => undefined)
  return answer?.rootAnswer(argv, fileURLToPath(new URL('..', import.meta.url)))
}

const answer = await rootAnswer(process.argv.slice(2))
if (answer === undefined) {
  // On import oclif checks that Node satisfies oclif's own "engines", with semver (~10 ms);
  // package.json's "engines" already asks for a newer Node than oclif does.
  const checkEngine = !('OCLIF_DISABLE_ENGINE_WARNING' in process.env)
  if (checkEngine) process.env.OCLIF_DISABLE_ENGINE_WARNING = '1'
  const {execute} = await import('@oclif/core')
  if (checkEngine) delete process.env.OCLIF_DISABLE_ENGINE_WARNING
  await execute({dir: import.meta.url})
} else {
  process.stdout.write(answer)
}
