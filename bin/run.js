#!/usr/bin/env node
import {fileURLToPath} from 'node:url'

// `k2ops`, `k2ops --help` and `k2ops --version` print oclif's own text from the manifests,
// without the ~100 ms of loading @oclif/core; anything else (or anything unusual) goes to oclif.
const {rootAnswer} = await import('../dist/root-help/answer.js')
const answer = await rootAnswer(process.argv.slice(2), fileURLToPath(new URL('..', import.meta.url)))
if (answer === undefined) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
} else {
  process.stdout.write(answer)
}
