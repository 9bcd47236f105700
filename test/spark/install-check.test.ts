import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {UsageError} from '../../src/pipeline/errors.js'
import {SparkSession} from '../../src/pipeline/engine/spark/session.js'
import {resolveHome} from '../../src/pipeline/home.js'
import {useTempDir} from '../helpers/temp-home.js'

function executable(file: string): string {
  mkdirSync(join(file, '..'), {recursive: true})
  writeFileSync(file, '#!/bin/sh\nexit 1\n')
  chmodSync(file, 0o755)
  return file
}

/** A home whose config names this Spark and these jars, and the environment a command would see. */
function setup(dir: string, spark: {sparkHome?: string; jars?: string[]}, env: NodeJS.ProcessEnv) {
  const home = join(dir, 'home')
  mkdirSync(home, {mode: 0o700})
  writeFileSync(join(home, 'config.json'), JSON.stringify({engine: 'spark', spark}))
  const fullEnv = {K2OPS_SPARK_DIR: join(dir, 'no-setup'), ...env}
  return {home: resolveHome({home, defaultDir: home, env: fullEnv}), env: fullEnv}
}

async function connectError(dir: string, spark: {sparkHome?: string; jars?: string[]}, env: NodeJS.ProcessEnv): Promise<UsageError> {
  const {home, env: fullEnv} = setup(dir, spark, env)
  const error = await SparkSession.connect(home, {env: fullEnv}).catch((caught: unknown) => caught)
  expect(error).toBeInstanceOf(UsageError)
  return error as UsageError
}

describe('starting Spark without Java, Spark or the Iceberg jar (no Spark needed)', () => {
  const tempDir = useTempDir('k2ops-spark-install-')

  it('says Java is missing (exit 2) when there is no java on PATH and no JAVA_HOME', async () => {
    const dir = tempDir()
    const error = await connectError(dir, {}, {PATH: join(dir, 'empty-bin'), JAVA_HOME: undefined})
    expect(error.exit).toBe(2)
    expect(error.code).toBe('java_not_found')
    expect(error.message).toBe('Java not found: the Spark engine needs Java 17 (or 11), and there is no java on PATH and no JAVA_HOME (or JAVA_HOME has no bin/java)')
    expect(error.hint).toContain('npm run spark:setup')
  })

  it('says Spark is missing (exit 2) when nothing is configured or installed, or sparkHome has no spark-submit', async () => {
    const dir = tempDir()
    const bin = join(dir, 'bin')
    executable(join(bin, 'java'))
    const env = {PATH: bin, JAVA_HOME: undefined, SPARK_HOME: undefined}
    const none = await connectError(dir, {}, env)
    expect(none.exit).toBe(2)
    expect(none.message).toBe(`Spark is not installed: no spark.sparkHome in config.json and none in ${join(dir, 'no-setup')}`)
    expect(none.hint).toMatch(/^Run `npm run spark:setup`/)

    const fake = join(dir, 'not-spark')
    mkdirSync(fake)
    const empty = await connectError(tempDir(), {sparkHome: fake}, env)
    expect(empty.message).toBe(`Spark is not installed: no bin/spark-submit under ${fake}`)
  })

  it('says the Iceberg runtime jar is missing (exit 2)', async () => {
    const dir = tempDir()
    const bin = join(dir, 'bin')
    executable(join(bin, 'java'))
    const sparkHome = join(dir, 'spark')
    executable(join(sparkHome, 'bin', 'spark-submit'))
    const error = await connectError(dir, {sparkHome, jars: []}, {PATH: bin, JAVA_HOME: undefined})
    expect(error.exit).toBe(2)
    expect(error.message).toBe('the Iceberg Spark runtime jar (iceberg-spark-runtime-3.5_2.12) is missing from spark.jars')
    const gone = await connectError(tempDir(), {sparkHome, jars: ['jars/iceberg-spark-runtime-3.5_2.12-1.10.1.jar']}, {PATH: bin, JAVA_HOME: undefined})
    expect(gone.message).toMatch(/^Spark jar not found: .*home\/jars\/iceberg-spark-runtime-3\.5_2\.12-1\.10\.1\.jar$/)
  })
})
