import {accessSync, constants, existsSync} from 'node:fs'
import {delimiter, dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {SparkSettings} from '../../home.js'

import {UsageError} from '../../errors.js'

/** The driver script shipped in the package (spark/driver.py at its root). */
export const DRIVER_SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../spark/driver.py')

const SETUP_HINT = 'Run `npm run spark:setup` in the k2ops checkout (it installs Spark and the Iceberg jar), or set spark.sparkHome and spark.jars in config.json.'

/** What starting a Spark driver needs, found and checked. */
export interface SparkInstall {
  sparkSubmit: string
  sparkHome: string
  jars: string[]
  /** The venv's Python when Spark is pyspark's package in a venv (as spark:setup installs it). */
  python?: string
}

/**
 * Checks that Java, Spark and the Iceberg runtime are there before anything starts: a missing piece
 * is a configuration error (exit 2) that says what to install, not a Spark stack trace later.
 */
export function checkSparkInstall(spark: SparkSettings, env: NodeJS.ProcessEnv = process.env): SparkInstall {
  if (!findJava(env)) {
    throw new UsageError('Java not found: the Spark engine needs Java 17 (or 11), and there is no java on PATH and no JAVA_HOME (or JAVA_HOME has no bin/java)', {
      code: 'java_not_found',
      hint: 'Install Java 17 (e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME, then run `npm run spark:setup`.',
    })
  }

  if (!spark.sparkHome) {
    throw new UsageError(`Spark is not installed: no spark.sparkHome in config.json and none in ${spark.setupDir}`, {code: 'spark_not_installed', hint: SETUP_HINT})
  }

  const sparkSubmit = join(spark.sparkHome, 'bin', 'spark-submit')
  if (!isExecutable(sparkSubmit)) {
    throw new UsageError(`Spark is not installed: no bin/spark-submit under ${spark.sparkHome}`, {code: 'spark_not_installed', hint: SETUP_HINT})
  }

  const missing = spark.jars.find((jar) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(jar) && !existsSync(jar))
  if (missing) throw new UsageError(`Spark jar not found: ${missing}`, {code: 'spark_not_installed', hint: SETUP_HINT})
  const packages = spark.conf['spark.jars.packages'] ?? ''
  if (!spark.jars.some((jar) => /iceberg-spark-runtime/.test(jar)) && !/iceberg-spark-runtime/.test(packages)) {
    throw new UsageError('the Iceberg Spark runtime jar (iceberg-spark-runtime-3.5_2.12) is missing from spark.jars', {code: 'spark_not_installed', hint: SETUP_HINT})
  }

  if (!existsSync(DRIVER_SCRIPT)) throw new UsageError(`the Spark driver script is missing from the package: ${DRIVER_SCRIPT}`, {code: 'spark_not_installed'})
  const venvPython = resolve(spark.sparkHome, '../../../../bin/python')
  return {sparkSubmit, sparkHome: spark.sparkHome, jars: spark.jars, python: isExecutable(venvPython) ? venvPython : undefined}
}

/** Java as spark-submit finds it: $JAVA_HOME/bin/java when JAVA_HOME is set, else java on PATH. */
function findJava(env: NodeJS.ProcessEnv): string | undefined {
  if (env.JAVA_HOME) return isExecutable(join(env.JAVA_HOME, 'bin', 'java')) ? join(env.JAVA_HOME, 'bin', 'java') : undefined
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'java'))
    .find((file) => isExecutable(file))
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}
