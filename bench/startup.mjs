// Start-up of k2ops, whole process, against `node -e 0`: `--help`, `--version` and (given a home
// with a warehouse) `trigger 1m`, median of N runs each, interleaved. Then where the time goes, step
// by step, from performance.now() probes in child processes that repeat what bin/run.js does.
//
//   node bench/startup.mjs [--runs N] [--json] [--home DIR --now ISO] [--run-js PATH]
//
// Run `npm run build` first. `--home` is a k2ops home (e.g. the one `node bench/backfill.mjs --keep`
// leaves under bench/out/); each trigger run records a run there. `--now` sets K2OPS_NOW.
// `--run-js` measures another checkout's bin/run.js (its probes run there too).
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {median, runProcess} from './measure.mjs'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

// Each probe prints {step: ms since the process started} as its last line on stderr.
const PROBES = {
  node: `process.stderr.write(JSON.stringify({nodeReady: performance.now()}))`,
  // The root help from the manifests (bin/run.js's answer to --help).
  manifestHelp: `const t = {nodeReady: performance.now()}
const {rootAnswer} = await import(ANSWER_URL); t.answerModuleLoaded = performance.now()
const text = await rootAnswer(['--help'], ROOT); t.helpRendered = performance.now()
if (text === undefined) throw new Error('the root help went to oclif')
process.stdout.write(text); t.written = performance.now()
process.stderr.write(JSON.stringify(t))`,
  // oclif's way (every other command's start, and --help before): import, Config.load, help class, render.
  oclifHelp: `const t = {nodeReady: performance.now()}
const {Config, loadHelpClass} = await import('@oclif/core'); t.oclifImported = performance.now()
const config = await Config.load(ROOT); t.configLoaded = performance.now()
const Help = await loadHelpClass(config); const help = new Help(config); t.helpClassLoaded = performance.now()
await help.showHelp(['--help']); t.helpRendered = performance.now()
process.stderr.write(JSON.stringify(t))`,
  trigger: `const t = {nodeReady: performance.now()}
const {Config} = await import('@oclif/core'); t.oclifImported = performance.now()
const config = await Config.load(ROOT); t.configLoaded = performance.now()
await config.findCommand('trigger').load(); t.commandModuleLoaded = performance.now()
const {createRequire} = await import('node:module'); createRequire(ROOT + '/package.json')('@duckdb/node-api'); t.duckdbLoaded = performance.now()
await config.runCommand('trigger', ['1m', '--home', HOME]); t.flowDone = performance.now()
process.stderr.write(JSON.stringify(t))`,
}

function probeArgs(name, root, home) {
  const constants = `const ROOT = ${JSON.stringify(root)}; const HOME = ${JSON.stringify(home ?? '')}; const ANSWER_URL = ${JSON.stringify(pathToFileURL(join(root, 'dist/root-help/answer.js')).href)};\n`
  return ['--input-type=module', '-e', constants + PROBES[name]]
}

async function run(args, env, cwd = ROOT) {
  const result = await runProcess(process.execPath, args, {cwd, env})
  if (result.code !== 0) throw new Error(`node ${args.slice(0, 2).join(' ')}… exited ${result.code}: ${result.stderr.slice(-500)}`)
  return result
}

/** Steps (ms) of one probe: the time between its marks, and from the last mark to the process's end. */
function steps(result) {
  const marks = JSON.parse(result.stderr.trim().split('\n').at(-1))
  const out = {}
  let previous = 0
  for (const [name, at] of Object.entries(marks)) {
    out[name] = at - previous
    previous = at
  }

  out.exit = result.ms - previous
  out.whole = result.ms
  return out
}

function medians(list) {
  return Object.fromEntries(Object.keys(list[0]).map((key) => [key, +median(list.map((s) => s[key])).toFixed(1)]))
}

/**
 * Medians (ms) of whole processes, `runs` of each, interleaved so that other load on the machine
 * falls on all alike: node -e 0, k2ops --help, k2ops --version (and trigger 1m, given a home); then
 * the steps of each probe. `trigger: {home, now}` adds the trigger path.
 */
export async function measureStartup({runJs = join(ROOT, 'bin/run.js'), runs = 10, trigger} = {}) {
  const env = {...process.env, NO_COLOR: '1'}
  for (const name of ['DEBUG', 'K2OPS_HOME', 'K2OPS_WAREHOUSE']) delete env[name]
  const triggerEnv = trigger?.now ? {...env, K2OPS_NOW: trigger.now} : env
  // bin/run.js sets this around oclif's import (it skips a semver check); so do the probes.
  const probeEnv = {...env, OCLIF_DISABLE_ENGINE_WARNING: '1'}
  // The probes run in runJs's checkout (its dist, its node_modules); one without the manifest answer skips that probe.
  const root = join(dirname(runJs), '..')
  const probeNames = ['node', ...(existsSync(join(root, 'dist/root-help/answer.js')) ? ['manifestHelp'] : []), 'oclifHelp']
  const whole = {node: [], help: [], version: [], trigger: []}
  const probes = {node: [], manifestHelp: [], oclifHelp: [], trigger: []}
  for (let i = 0; i < runs; i++) {
    whole.node.push((await run(['-e', '0'], env)).ms)
    whole.help.push((await run([runJs, '--help'], env)).ms)
    whole.version.push((await run([runJs, '--version'], env)).ms)
    if (trigger) whole.trigger.push((await run([runJs, 'trigger', '1m', '--home', trigger.home], triggerEnv)).ms)
    for (const name of probeNames) probes[name].push(steps(await run(probeArgs(name, root), probeEnv, root)))
    if (trigger) probes.trigger.push(steps(await run(probeArgs('trigger', root, trigger.home), {...triggerEnv, OCLIF_DISABLE_ENGINE_WARNING: '1'}, root)))
  }

  const result = {
    runs,
    node: process.version,
    wholeMs: {nodeE0: +median(whole.node).toFixed(1), help: +median(whole.help).toFixed(1), version: +median(whole.version).toFixed(1)},
    steps: Object.fromEntries(probeNames.map((name) => [name, medians(probes[name])])),
  }
  result.ratios = {help: +(result.wholeMs.help / result.wholeMs.nodeE0).toFixed(2), version: +(result.wholeMs.version / result.wholeMs.nodeE0).toFixed(2)}
  if (trigger) {
    result.wholeMs.trigger = +median(whole.trigger).toFixed(1)
    result.steps.trigger = medians(probes.trigger)
  }

  return result
}

function printTable(result) {
  const ms = (x) => `${x.toFixed(1)} ms`
  const {wholeMs, ratios} = result
  console.log(`k2ops start-up, ${result.node}, median of ${result.runs} (whole process, interleaved)`)
  console.log(`  node -e 0            ${ms(wholeMs.nodeE0)}`)
  console.log(`  k2ops --help         ${ms(wholeMs.help)}  ${ratios.help}× node -e 0 (target ≤ 2×)`)
  console.log(`  k2ops --version      ${ms(wholeMs.version)}  ${ratios.version}× node -e 0`)
  if (wholeMs.trigger !== undefined) console.log(`  k2ops trigger 1m     ${ms(wholeMs.trigger)}  (target ≤ 350 ms)`)
  const titles = {node: 'node -e (to first user code)', manifestHelp: '--help from the manifests (bin/run.js)', oclifHelp: "--help through oclif (every other command's start)", trigger: 'trigger 1m through oclif'}
  for (const [name, steps] of Object.entries(result.steps)) {
    console.log(`\n${titles[name]}`)
    for (const [step, value] of Object.entries(steps)) console.log(`  ${step.padEnd(22)} ${ms(value).padStart(10)}`)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2)
  const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined)
  const home = option('--home')
  const runJs = option('--run-js') ?? join(ROOT, 'bin/run.js')
  if (!existsSync(join(runJs, '../../oclif.manifest.json'))) throw new Error('run `npm run build` first')
  const result = await measureStartup({runJs, runs: Number(option('--runs') ?? 10), trigger: home ? {home, now: option('--now')} : undefined})
  if (argv.includes('--json')) console.log(JSON.stringify(result, null, 2))
  else printTable(result)
}
