import {ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, expect, it} from 'vitest'

import {SparkSession} from '../../src/pipeline/engine/spark/session.js'
import {SparkError} from '../../src/pipeline/engine/spark/spark-error.js'
import {Home, resolveHome} from '../../src/pipeline/home.js'
import {SPARK_START_TIMEOUT_MS, describeSpark, distModule} from '../helpers/spark.js'

const CLIENT = join(import.meta.dirname, 'spark-client.mjs')
const T = 'iceberg.market_data'
const SECRET = 'client-id:not-for-logs-4711'

/** A k2ops-like process on the same home: connects to its driver, maybe runs SQL. */
function client(home: string, sql = '', hold = ''): {child: ChildProcess; output: () => string; line: (pattern: RegExp) => Promise<string>} {
  const child = spawn('node', [CLIENT, home, distModule('pipeline/engine/spark/session.js'), distModule('pipeline/home.js'), sql, hold], {stdio: ['pipe', 'pipe', 'pipe']})
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<void>((done) => child.on('exit', () => done()))
  return {
    child,
    output: () => output,
    async line(pattern) {
      for (;;) {
        const match = pattern.exec(output)
        if (match) return match[0]
        if (child.exitCode !== null) throw new Error(`the client exited: ${output}`)
        await Promise.race([sleep(100), exited])
      }
    },
  }
}

async function waitForLog(file: string, offset: number, pattern: RegExp): Promise<void> {
  for (;;) {
    if (pattern.test(readFileSync(file, 'utf8').slice(offset))) return
    await sleep(100)
  }
}

describeSpark('the Spark session (a real driver, an Iceberg hadoop catalog in a temp dir)', () => {
  // One driver (one cold start) for the whole file, so one home for it.
  let dir: string
  let home: Home
  let session: SparkSession

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k2ops-spark-'))
    // The driver reads a REST catalog's secret from its environment, never from its command line.
    process.env.K2OPS_SPARK_CATALOG_CREDENTIAL = SECRET
    home = resolveHome({home: dir, defaultDir: dir})
    // Two commands that start at once make one driver: another process and this one.
    const other = client(dir, '', 'hold')
    const started = Date.now()
    session = await SparkSession.connect(home)
    const otherPid = Number((await other.line(/connected (\d+)/)).split(' ')[1])
    console.log(`Spark cold start: ${((Date.now() - started) / 1000).toFixed(1)} s`)
    expect((await session.ping()).pid).toBe(otherPid)
    expect(readdirSync(join(dir, 'state', 'spark')).filter((name) => name.endsWith('.sock'))).toHaveLength(1)
    other.child.stdin!.end()
  }, SPARK_START_TIMEOUT_MS)

  it('keeps the catalog credential out of the driver\'s command lines and its log', async () => {
    const {pid} = await session.ping()
    const jvm = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1])
    for (const process of [pid, jvm]) expect(readFileSync(`/proc/${process}/cmdline`, 'utf8')).not.toContain(SECRET)
    expect(readFileSync(`/proc/${jvm}/cmdline`, 'utf8')).toContain('spark.sql.catalog.iceberg.type=hadoop')
    expect(readFileSync(join(dir, 'logs', 'spark-driver.log'), 'utf8')).not.toContain(SECRET)
  })

  afterAll(async () => {
    delete process.env.K2OPS_SPARK_CATALOG_CREDENTIAL
    await session?.shutdown()
    rmSync(dir, {recursive: true, force: true})
  }, 60_000)

  it('answers SELECT 1, and its socket and folder are private', async () => {
    expect(await session.sql('SELECT 1 AS one')).toEqual([{columns: ['one'], types: ['int'], rows: [[1]]}])
    const sparkDir = join(dir, 'state', 'spark')
    const socket = readdirSync(sparkDir).find((name) => name.endsWith('.sock'))!
    expect(statSync(sparkDir).mode & 0o777).toBe(0o700)
    expect(statSync(join(sparkDir, socket)).mode & 0o777).toBe(0o600)
  })

  it('creates a namespace and an Iceberg table, and reads decimals, big integers and microsecond timestamps back exactly', async () => {
    await session.sql([
      `CREATE NAMESPACE IF NOT EXISTS ${T}`,
      `CREATE TABLE ${T}.exact (id BIGINT, price DECIMAL(18,8), volume DECIMAL(38,8), ts TIMESTAMP, d DATE, note STRING) USING iceberg`,
      `INSERT INTO ${T}.exact VALUES
        (9007199254740993, 6211.10000000, 1000000000000.12345678, TIMESTAMP '2024-08-08 23:55:00.000001', DATE '2024-08-08', NULL),
        (-9223372036854775808, 0.00000001, 123456789012345678901234567890.12345678, TIMESTAMP '1969-12-31 23:59:59.999999', DATE '1969-12-31', 'x')`,
    ])
    const rows = await session.rows(`SELECT * FROM ${T}.exact ORDER BY id DESC`)
    expect(rows).toEqual([
      {id: '9007199254740993', price: '6211.10000000', volume: '1000000000000.12345678', ts: '2024-08-08T23:55:00.000001Z', d: '2024-08-08', note: null},
      {id: '-9223372036854775808', price: '0.00000001', volume: '123456789012345678901234567890.12345678', ts: '1969-12-31T23:59:59.999999Z', d: '1969-12-31', note: 'x'},
    ])
    const [micros] = await session.rows<{ts: string; back: string}>('SELECT timestamp_micros(1723161300000001) AS ts, unix_micros(timestamp_micros(1723161300000001)) AS back')
    expect(micros).toEqual({ts: '2024-08-08T23:55:00.000001Z', back: '1723161300000001'})
  })

  it('returns every statement\'s rows with collect: each', async () => {
    const results = await session.sql(['SELECT 1 AS a', "SELECT 'b' AS b, CAST(NULL AS INT) AS c"], {collect: 'each'})
    expect(results.map((result) => result.rows)).toEqual([[[1]], [['b', null]]])
  })

  it('appends every request to K2OPS_SPARK_SQL_LOG, failed ones too, when it is set (off by default)', async () => {
    const file = join(dir, 'sql.log')
    const logged = await SparkSession.connect(home, {env: {...process.env, K2OPS_SPARK_SQL_LOG: file}})
    try {
      await logged.sql(['SELECT 1 AS a', 'SELECT 2 AS b'])
      await expect(logged.sql(['SELECT no_such_column'])).rejects.toBeInstanceOf(SparkError)
    } finally {
      logged.close()
    }

    const text = readFileSync(file, 'utf8')
    expect(text).toMatch(/^-- k2ops pid \d+ request at \S+: 2 statement\(s\), ok, driver \d+ ms, round trip \d+ ms\nSELECT 1 AS a;\nSELECT 2 AS b;\n-- k2ops pid \d+ request at \S+: 1 statement\(s\), failed: [^;\n]+, round trip \d+ ms\nSELECT no_such_column;\n$/)
    // The session of the other tests has no log: nothing more is written by its requests.
    await session.sql(['SELECT 3'])
    expect(readFileSync(file, 'utf8')).toBe(text)
  })

  it('turns a bad statement into a one-line SparkError (exit 1) whose hint names the log, which has the stack', async () => {
    const log = join(dir, 'logs', 'spark-driver.log')
    const offset = statSync(log).size
    const error = await session.sql('SELEC 1').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(SparkError)
    const spark = error as SparkError
    expect(spark.exit).toBe(1)
    expect(spark.message).toMatch(/^Spark: \[PARSE_SYNTAX_ERROR\] Syntax error at or near 'SELEC'/)
    expect(spark.message).not.toContain('\n')
    expect(spark.kind).toBe('ParseException')
    expect(spark.hint).toContain(log)
    const written = readFileSync(log, 'utf8').slice(offset)
    expect(written).toContain('Traceback (most recent call last)')
    expect(written).toContain('org.apache.spark.sql.catalyst.parser.ParseException')

    const missing = (await session.sql(`SELECT * FROM ${T}.nope`).catch((caught: unknown) => caught)) as SparkError
    expect(missing.errorClass).toBe('TABLE_OR_VIEW_NOT_FOUND')
    expect(missing.message).not.toContain('\n')
    // The session goes on serving after a failure.
    expect((await session.sql('SELECT 2 AS two'))[0].rows).toEqual([[2]])
  })

  it('cancels the request of a client killed mid-request: nothing of it commits, and the driver goes on serving', async () => {
    await session.sql(`CREATE TABLE ${T}.cancelled (id BIGINT) USING iceberg`)
    const log = join(dir, 'logs', 'spark-driver.log')
    const offset = statSync(log).size
    // 40 rows that take half a second each to produce, on two tasks: about ten seconds of work.
    const slow = client(dir, `INSERT INTO ${T}.cancelled SELECT id FROM range(0, 40, 1, 2) WHERE length(reflect('java.lang.Thread', 'sleep', CAST(500 AS BIGINT))) > 0`)
    await slow.line(/sent/)
    await waitForLog(log, offset, /request k2ops-\d+-\d+ started: 1 statement/)
    slow.child.kill('SIGKILL')
    await waitForLog(log, offset, /request k2ops-\d+-\d+ cancelled/)
    expect(await session.rows(`SELECT count(*) AS n FROM ${T}.cancelled`)).toEqual([{n: '0'}])
    expect(await session.rows(`SELECT count(*) AS n FROM ${T}.cancelled.snapshots`)).toEqual([{n: '0'}])
  }, 120_000)
})
