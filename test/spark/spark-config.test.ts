import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {sparkConf, submitArgs} from '../../src/pipeline/engine/spark/driver-launch.js'
import {UsageError} from '../../src/pipeline/errors.js'
import {resolveHome} from '../../src/pipeline/home.js'
import {k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'

describe('the engine and spark settings', () => {
  const tempDir = useTempDir('k2ops-spark-config-')

  function homeWith(config: unknown, env: NodeJS.ProcessEnv = {}, engine?: 'duckdb' | 'spark') {
    const dir = tempDir()
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
    return resolveHome({home: dir, defaultDir: dir, env: {K2OPS_SPARK_DIR: join(dir, 'no-setup'), ...env}, engine})
  }

  function configError(config: unknown, env: NodeJS.ProcessEnv = {}): string {
    try {
      homeWith(config, env)
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError)
      return (error as Error).message.replace(/^.*config\.json: /, '')
    }

    throw new Error('no error')
  }

  it('defaults to DuckDB, and to a local Spark with a hadoop catalog in <home>/iceberg', () => {
    const home = homeWith({})
    expect(home.engine).toBe('duckdb')
    expect(home.spark).toEqual({
      master: 'local[2]',
      sparkHome: undefined,
      jars: [],
      catalog: {name: 'iceberg', type: 'hadoop', warehouse: `file://${join(home.dir, 'iceberg')}`, uri: undefined, properties: {}},
      namespace: 'market_data',
      conf: {},
      idleTimeoutMs: 15 * 60_000,
      startTimeoutMs: 180_000,
      setupDir: join(home.dir, 'no-setup'),
    })
  })

  it('takes the engine from the flag, then K2OPS_ENGINE, then the file', () => {
    expect(homeWith({engine: 'spark'}).engine).toBe('spark')
    expect(homeWith({engine: 'spark'}, {K2OPS_ENGINE: 'duckdb'}).engine).toBe('duckdb')
    expect(homeWith({engine: 'duckdb'}, {K2OPS_ENGINE: 'duckdb'}, 'spark').engine).toBe('spark')
    expect(() => homeWith({}, {K2OPS_ENGINE: 'postgres'})).toThrow('K2OPS_ENGINE: "postgres" is not allowed: duckdb or spark')
  })

  it('finds Spark and the jars where spark:setup put them (K2OPS_SPARK_DIR)', () => {
    const setup = tempDir()
    const sparkHome = join(setup, 'venv', 'lib', 'python3.11', 'site-packages', 'pyspark')
    mkdirSync(join(sparkHome, 'bin'), {recursive: true})
    writeFileSync(join(sparkHome, 'bin', 'spark-submit'), '#!/bin/sh\n')
    chmodSync(join(sparkHome, 'bin', 'spark-submit'), 0o755)
    mkdirSync(join(setup, 'jars'))
    writeFileSync(join(setup, 'jars', 'iceberg-spark-runtime-3.5_2.12-1.10.1.jar'), '')
    const home = homeWith({}, {K2OPS_SPARK_DIR: setup})
    expect(home.spark.sparkHome).toBe(sparkHome)
    expect(home.spark.jars).toEqual([join(setup, 'jars', 'iceberg-spark-runtime-3.5_2.12-1.10.1.jar')])
    // What the config file says wins; relative paths are relative to the home.
    const configured = homeWith({spark: {sparkHome: 'spark', jars: ['a.jar', 'https://repo.example/b.jar']}}, {K2OPS_SPARK_DIR: setup})
    expect(configured.spark.sparkHome).toBe(join(configured.dir, 'spark'))
    expect(configured.spark.jars).toEqual([join(configured.dir, 'a.jar'), 'https://repo.example/b.jar'])
  })

  it('reads a REST catalog and Spark properties, and builds spark-submit arguments without secrets', () => {
    const home = homeWith({
      engine: 'spark',
      spark: {
        master: 'spark://spark-master:7077',
        catalog: {name: 'lake', type: 'rest', uri: 'http://iceberg-rest:8181', warehouse: 's3://warehouse/', properties: {'io-impl': 'org.apache.iceberg.aws.s3.S3FileIO', 's3.path-style-access': true}},
        namespace: 'md',
        conf: {'spark.driver.memory': '2g', 'spark.sql.shuffle.partitions': 8},
        idleTimeout: '1h',
      },
    })
    expect(home.spark.catalog).toEqual({name: 'lake', type: 'rest', uri: 'http://iceberg-rest:8181', warehouse: 's3://warehouse/', properties: {'io-impl': 'org.apache.iceberg.aws.s3.S3FileIO', 's3.path-style-access': 'true'}})
    expect(home.spark.idleTimeoutMs).toBe(3_600_000)
    const conf = sparkConf(home.spark)
    expect(conf).toMatchObject({
      'spark.sql.catalog.lake': 'org.apache.iceberg.spark.SparkCatalog',
      'spark.sql.catalog.lake.type': 'rest',
      'spark.sql.catalog.lake.uri': 'http://iceberg-rest:8181',
      'spark.sql.catalog.lake.io-impl': 'org.apache.iceberg.aws.s3.S3FileIO',
      'spark.sql.catalog.lake.s3.path-style-access': 'true',
      'spark.sql.extensions': 'org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions',
      'spark.sql.session.timeZone': 'UTC',
      'spark.sql.ansi.enabled': 'true',
      'spark.driver.memory': '2g',
      'spark.sql.shuffle.partitions': '8',
    })
    const files = {target: 'lake.md', dir: '/h/state/spark', socket: '/h/state/spark/x.sock', note: '', startLock: '', log: '/h/logs/spark-driver.log'}
    const args = submitArgs(home.spark, {sparkSubmit: '/s/bin/spark-submit', sparkHome: '/s', jars: ['/j/iceberg.jar']}, files, '/pkg/spark/driver.py')
    expect(args.slice(0, 6)).toEqual(['--master', 'spark://spark-master:7077', '--name', 'k2ops', '--jars', '/j/iceberg.jar'])
    expect(args.slice(-9)).toEqual(['/pkg/spark/driver.py', '--socket', '/h/state/spark/x.sock', '--idle-timeout', '3600', '--catalog', 'lake', '--log', '/h/logs/spark-driver.log'])
    expect(args.join(' ')).not.toMatch(/\.(credential|token)=/)
  })

  it('refuses bad spark settings with one line naming the key, the value and what is allowed', () => {
    expect(configError({engine: 'spark-sql'})).toBe('engine: "spark-sql" is not allowed: duckdb or spark')
    expect(configError({spark: {catalog: {type: 'glue'}}})).toBe('spark.catalog.type: "glue" is not allowed: one of hadoop, rest, hive')
    expect(configError({spark: {catalog: {type: 'rest'}}})).toBe('spark.catalog.uri: required when the catalog type is rest')
    expect(configError({spark: {namespace: 'market-data'}})).toBe('spark.namespace: "market-data" is not allowed: a SQL identifier: letters, digits and _, not starting with a digit')
    expect(configError({spark: {idleTimeout: '1s'}})).toBe('spark.idleTimeout: "1s" is not allowed: a duration such as 15m or 1h, from 10s to 7d')
    expect(configError({spark: {conf: {'spark.sql.session.timeZone': 'Europe/Paris'}}})).toMatch(/^spark\.conf\.spark\.sql\.session\.timeZone: "spark\.sql\.session\.timeZone" is not allowed: a property k2ops does not set itself/)
    expect(configError({spark: {catalog: {properties: {credential: 'id:secret'}}}})).toMatch(/^spark\.catalog\.properties\.credential: "credential" is not allowed: no secrets here: give the REST catalog's credential or token in K2OPS_SPARK_CATALOG_CREDENTIAL/)
    expect(configError({spark: {conf: {'spark.hadoop.fs.s3a.secret.key': 'x'}}})).toMatch(/is not allowed: no secrets here/)
    expect(configError({spark: {mastr: 'local[4]'}})).toMatch(/^spark\.mastr: unknown key \(did you mean 'master'\?/)
  })

  it('takes --engine on every command and refuses an unknown one (exit 2)', async () => {
    const home = tempDir()
    expect((await k2ops(['deployments', '--home', home, '--engine', 'spark', '--json'])).exitCode).toBe(0)
    const bad = await k2ops(['deployments', '--home', home, '--engine', 'postgres'])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/Expected --engine=postgres to be one of: duckdb, spark/)
    const env = await k2ops(['deployments', '--home', home], {K2OPS_ENGINE: 'postgres'})
    expect(env.exitCode).toBe(2)
    expect(env.stderr.trim().split('\n')[0]).toBe('k2ops: K2OPS_ENGINE: "postgres" is not allowed: duckdb or spark')
  })
})
