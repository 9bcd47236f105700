import {existsSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/**
 * The real exchange tapes live in ../shared/data/real beside the checkout (never in the repo).
 * A fresh clone without it skips those tests with a message; CI sets K2OPS_REQUIRE_REAL_DATA=1
 * so that their absence is an error there.
 */
export const REAL_DATA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/data/real')

export const hasRealData = existsSync(REAL_DATA_DIR)

if (!hasRealData) {
  if (process.env.K2OPS_REQUIRE_REAL_DATA === '1') {
    throw new Error(`real exchange data not found at ${REAL_DATA_DIR}; CI needs ../shared beside the checkout`)
  }

  console.warn(`skipping real-tape tests: ${REAL_DATA_DIR} is not there (it sits beside the checkout in CI)`)
}

export function realFile(...parts: string[]): string {
  return join(REAL_DATA_DIR, ...parts)
}
