import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {describe} from 'vitest'

import {errorMessage} from '../../src/pipeline/errors.js'
import {resolveHome} from '../../src/pipeline/home.js'
import {checkSparkInstall} from '../../src/pipeline/engine/spark/install.js'

/** The built package's modules, for child processes (tests run after `npm run build`). */
export function distModule(path: string): string {
  return pathToFileURL(resolve(dirname(fileURLToPath(import.meta.url)), '../../dist', path)).href
}

/** Is the Spark engine installed here (`npm run spark:setup`)? The reason when it is not. */
export function sparkAvailable(): {available: true} | {available: false; reason: string} {
  const dir = mkdtempSync(join(tmpdir(), 'k2ops-spark-probe-'))
  try {
    checkSparkInstall(resolveHome({home: dir, defaultDir: dir}).spark)
    return {available: true}
  } catch (error) {
    return {available: false, reason: errorMessage(error)}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

const probe = sparkAvailable()

if (!probe.available) {
  // CI installs Spark and sets K2OPS_REQUIRE_SPARK=1: there, a missing Spark is a failure, not a skip.
  if (process.env.K2OPS_REQUIRE_SPARK === '1') throw new Error(`K2OPS_REQUIRE_SPARK=1 but Spark is not usable: ${probe.reason}`)
  console.warn(`skipping Spark tests: ${probe.reason}; run \`npm run spark:setup\` to install Spark and the Iceberg jar`)
}

/** `describe` for tests that need a real Spark: skipped (with the message above) where it is not installed. */
export const describeSpark: typeof describe = probe.available ? describe : (describe.skip as typeof describe)

/** A Spark cold start takes seconds (about 15 s on two cores, more on a loaded machine). */
export const SPARK_START_TIMEOUT_MS = 240_000
