import {execa} from 'execa'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, CliResult, k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'

const DEPLOYMENT_NAMES = 'ohlcv-1m-scheduled, ohlcv-5m-scheduled, ohlcv-30m-scheduled, ohlcv-1h-scheduled, ohlcv-1d-scheduled, maintain-scheduled'
const TOP_KEYS = 'warehouse, lockTimeoutSeconds, memoryLimit, threads, thresholds, deployments, scheduler, retention, maintenance, ingest, engine, spark, alerts'
const MEMORY = 'a DuckDB memory size such as 512MB, 4GB or 2GiB (units KB MB GB TB, KiB MiB GiB TiB), at least 16MB'
const CRON = 'a five-field cron in UTC (minute hour day month weekday), e.g. */5 * * * *'

/** A bad config.json (as JSON text, so 1e400 stays what a user wrote) and the line k2ops must print after `<file>: `. */
const BAD_FILES: Array<[string, string]> = [
  ['{"scheduler": {"port": "abc"}}', 'scheduler.port: "abc" is not allowed: an integer from 0 to 65535'],
  ['{"scheduler": {"port": 70000}}', 'scheduler.port: 70000 is not allowed: an integer from 0 to 65535'],
  ['{"scheduler": {"port": -1}}', 'scheduler.port: -1 is not allowed: an integer from 0 to 65535'],
  ['{"scheduler": {"port": 42.5}}', 'scheduler.port: 42.5 is not allowed: an integer from 0 to 65535'],
  ['{"scheduler": {"logMaxBytes": "x"}}', 'scheduler.logMaxBytes: "x" is not allowed: an integer number of bytes from 1024 to 1099511627776 (1 TiB)'],
  ['{"scheduler": {"logFiles": 0}}', 'scheduler.logFiles: 0 is not allowed: an integer from 1 to 1000'],
  ['{"scheduler": {"logfiles": 3}}', "scheduler.logfiles: unknown key (did you mean 'logFiles'? known: port, logMaxBytes, logFiles, freshnessSeconds)"],
  ['{"scheduler": []}', 'scheduler: [] is not allowed: an object'],
  ['{"scheduler": {"freshnessSeconds": -1}}', 'scheduler.freshnessSeconds: -1 is not allowed: a whole number of seconds from 0 (never) to 86400'],
  ['{"alerts": {"name": "x"}}', 'alerts: {"name":"x"} is not allowed: a list of alert targets ({"name", "type", ...})'],
  ['{"alerts": [{"name": "x", "type": "teams", "url": "http://a"}]}', 'alerts.0.type: "teams" is not allowed: one of webhook, slack, pagerduty'],
  ['{"alerts": [{"name": "x", "type": "slack", "url": "ftp://a"}]}', 'alerts.0.url: "ftp://a" is not allowed: an http:// or https:// URL'],
  ['{"alerts": [{"name": "x", "type": "slack", "urlEnv": "A", "events": ["failed", "late"]}]}', 'alerts.0.events.1: "late" is not allowed: a list of failed, timed_out, crashed, failure_streak, candles_late, source_silent, health_daily'],
  ['{"alerts": [{"name": "x", "type": "slack", "urlEnv": "A", "evnts": []}]}', "alerts.0.evnts: unknown key (did you mean 'events'? known: name, type, url, urlEnv, routingKey, routingKeyEnv, events, resolved, timeoutSeconds, retries, retryDelaySeconds)"],
  ['{"retention": {"1m": 1e8}}', 'retention.1m: 100000000 is not allowed: a whole number of days from 1 to 36500'],
  ['{"retention": {"trades": 0}}', 'retention.trades: 0 is not allowed: a whole number of days from 1 to 36500'],
  ['{"retention": {"1d": "1825"}}', 'retention.1d: "1825" is not allowed: a whole number of days from 1 to 36500'],
  ['{"retention": {"2m": 30}}', "retention.2m: unknown key (did you mean '1m'? known: 1m, 5m, 30m, 1h, 1d, trades)"],
  ['{"lockTimeoutSeconds": -5}', 'lockTimeoutSeconds: -5 is not allowed: an integer from 0 to 86400'],
  ['{"lockTimeoutSeconds": 1e400}', 'lockTimeoutSeconds: Infinity is not allowed: an integer from 0 to 86400'],
  ['{"lockTimout": 5}', `lockTimout: unknown key (did you mean 'lockTimeoutSeconds'? known: ${TOP_KEYS})`],
  ['{"x": 1}', `x: unknown key (known: ${TOP_KEYS})`],
  ['{"threads": 0}', 'threads: 0 is not allowed: an integer from 1 to 1024'],
  ['{"threads": 1.5}', 'threads: 1.5 is not allowed: an integer from 1 to 1024'],
  ['{"threads": 1e9}', 'threads: 1000000000 is not allowed: an integer from 1 to 1024'],
  ['{"memoryLimit": "lots"}', `memoryLimit: "lots" is not allowed: ${MEMORY}`],
  ['{"memoryLimit": "1000b"}', `memoryLimit: "1000b" is not allowed: ${MEMORY}`],
  ['{"warehouse": 7}', 'warehouse: 7 is not allowed: a file path'],
  ['{"thresholds": {"candleLagMinutes": {"1m": {"fial": 2}}}}', "thresholds.candleLagMinutes.1m.fial: unknown key (did you mean 'fail'? known: warn, fail)"],
  ['{"thresholds": {"runSuccessRate": {"warn": 99}}}', 'thresholds.runSuccessRate.warn: 99 is not allowed: a number from 0 to 1'],
  ['{"thresholds": {"sourceLagMinutes": {"fail": -1}}}', 'thresholds.sourceLagMinutes.fail: -1 is not allowed: a non-negative number'],
  ['{"thresholds": {"consecutiveFailures": 2.5}}', 'thresholds.consecutiveFailures: 2.5 is not allowed: a whole number ≥ 0'],
  ['{"deployments": {"ohlcv-1m-schedule": {}}}', `deployments.ohlcv-1m-schedule: unknown key (did you mean 'ohlcv-1m-scheduled'? known: ${DEPLOYMENT_NAMES})`],
  ['{"deployments": {"1h": {"paused": true}}}', `deployments.1h: unknown key (did you mean 'ohlcv-1h-scheduled'? known: ${DEPLOYMENT_NAMES})`],
  ['{"deployments": {"ohlcv-5m-scheduled": {"cron": "*/5 * * *"}}}', `deployments.ohlcv-5m-scheduled.cron: "*/5 * * *" is not allowed: ${CRON}`],
  ['{"deployments": {"ohlcv-1d-scheduled": {"cron": "5 25 * * *"}}}', `deployments.ohlcv-1d-scheduled.cron: "5 25 * * *" is not allowed: ${CRON} (CronPattern: Invalid value for hour: 25)`],
  ['{"deployments": {"ohlcv-1h-scheduled": {"lookback": "2x"}}}', 'deployments.ohlcv-1h-scheduled.lookback: "2x" is not allowed: a duration such as 10m, 2h or 2d, from 1s to 366d'],
  ['{"deployments": {"ohlcv-1h-scheduled": {"retries": -1}}}', 'deployments.ohlcv-1h-scheduled.retries: -1 is not allowed: an integer from 0 to 100'],
  ['{"deployments": {"ohlcv-1h-scheduled": {"timeoutSeconds": 1e9}}}', 'deployments.ohlcv-1h-scheduled.timeoutSeconds: 1000000000 is not allowed: an integer from 0 (no timeout) to 86400'],
  ['{"deployments": {"ohlcv-1h-scheduled": {"paused": "yes"}}}', 'deployments.ohlcv-1h-scheduled.paused: "yes" is not allowed: true or false'],
  ['{"deployments": {"ohlcv-1h-scheduled": {"retires": 3}}}', "deployments.ohlcv-1h-scheduled.retires: unknown key (did you mean 'retries'? known: cron, lookback, retries, retryDelaySeconds, retryBackoff, retryJitterSeconds, retryOn, timeoutSeconds, paused)"],
  ['{"ingest": {"earliestTime": "yesterday"}}', 'ingest.earliestTime: "yesterday" is not allowed: an ISO-8601 instant such as 2009-01-01T00:00:00Z, from 1970-01-01 to 2100-01-01'],
  ['{"ingest": {"maxFuture": "1y"}}', 'ingest.maxFuture: "1y" is not allowed: a duration such as 1h or 1d, from 0s to 30d'],
  ['[1]', '[1] is not allowed: a JSON object'],
  ['{"threads": 0, "scheduler": {"port": "abc"}}', 'threads: 0 is not allowed: an integer from 1 to 1024 (and 1 more problem)'],
]

/** A bad K2OPS_* variable (or flag) and the line k2ops must print. */
const BAD_ENV: Array<[Record<string, string>, string[], string]> = [
  [{K2OPS_THREADS: 'abc'}, [], 'K2OPS_THREADS: "abc" is not allowed: an integer from 1 to 1024'],
  [{K2OPS_THREADS: '0'}, [], 'K2OPS_THREADS: "0" is not allowed: an integer from 1 to 1024'],
  [{K2OPS_THREADS: '1.5'}, [], 'K2OPS_THREADS: "1.5" is not allowed: an integer from 1 to 1024'],
  [{K2OPS_THREADS: '1e9'}, [], 'K2OPS_THREADS: "1e9" is not allowed: an integer from 1 to 1024'],
  [{K2OPS_LOCK_TIMEOUT: '-5'}, [], 'K2OPS_LOCK_TIMEOUT: "-5" is not allowed: an integer from 0 to 86400'],
  [{K2OPS_LOCK_TIMEOUT: '1e400'}, [], 'K2OPS_LOCK_TIMEOUT: "1e400" is not allowed: an integer from 0 to 86400'],
  [{K2OPS_LOCK_TIMEOUT: 'soon'}, [], 'K2OPS_LOCK_TIMEOUT: "soon" is not allowed: an integer from 0 to 86400'],
  [{K2OPS_MEMORY_LIMIT: '1000'}, [], `K2OPS_MEMORY_LIMIT: "1000" is not allowed: ${MEMORY}`],
  [{}, ['--lock-timeout', '99999'], '--lock-timeout: 99999 is not allowed: an integer from 0 to 86400'],
]

function expectConfigError(result: CliResult, json: CliResult, line: string, label: string): void {
  expect(result.exitCode, `${label}\n${result.stderr}`).toBe(2)
  expect(result.stdout, label).toBe('')
  expect(result.stderr.trimEnd().split('\n'), label).toEqual([`k2ops: ${line}`])
  expect(json.exitCode, label).toBe(2)
  expect(json.json, `${label}\n${json.stdout}`).toEqual({error: {code: 'bad_config', exit: 2, message: line, suggestions: []}})
}

describe('configuration: config.json and the K2OPS_* settings, one schema', () => {
  const tempDir = useTempDir('k2ops-config-')

  // One test per case, one after the other (the machine has two cores, shared); their homes live in
  // one directory, removed after all of them.
  let root = ''
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'k2ops-config-cases-'))
  })
  afterAll(() => rmSync(root, {recursive: true, force: true}))

  it.for(BAD_FILES.map(([text, expected], index) => ({index, text, expected})))('config.json $text exits 2: one line naming the key, the value and what is allowed', async ({index, text, expected}) => {
    const home = join(root, `file-${index}`)
    mkdirSync(home)
    const configFile = join(home, 'config.json')
    writeFileSync(configFile, text)
    const [result, json] = await Promise.all([k2ops(['deployments', '--home', home]), k2ops(['deployments', '--home', home, '--json'])])
    expectConfigError(result, json, `${configFile}: ${expected}`, text)
  })

  it.for(BAD_ENV.map(([env, args, expected], index) => ({index, env, args, expected, label: `${Object.entries(env).map(([name, value]) => `${name}=${value}`).join(' ')}${args.join(' ')}`})))('$label exits 2 naming the variable (or flag), under the config file\'s rule', async ({index, env, args, expected, label}) => {
    const home = join(root, `env-${index}`)
    const [result, json] = await Promise.all([k2ops(['deployments', '--home', home, ...args], env), k2ops(['deployments', '--home', home, '--json', ...args], env)])
    expectConfigError(result, json, expected, label)
  })

  it('every command checks the configuration before it works: no daemon on a bad port, no warehouse opened', async () => {
    const home = join(tempDir(), 'home')
    expect((await k2ops(['init', '--home', home])).exitCode).toBe(0)
    const configFile = join(home, 'config.json')
    writeFileSync(configFile, '{"scheduler": {"port": "abc"}}')
    const line = `k2ops: ${configFile}: scheduler.port: "abc" is not allowed: an integer from 0 to 65535`
    for (const args of [['scheduler', 'start'], ['scheduler', 'status'], ['validate'], ['runs'], ['trigger', '1m', '--direct']]) {
      const result = await k2ops([...args, '--home', home], {}, {timeoutMs: 30_000})
      expect(result.exitCode, args.join(' ')).toBe(2)
      expect(result.stderr.trim(), args.join(' ')).toBe(line)
    }

    expect(existsSync(join(home, 'state', 'scheduler.json'))).toBe(false)
    expect(existsSync(join(home, 'abc'))).toBe(false)
  })

  it('a configuration with every section set is taken as written', async () => {
    const home = tempDir()
    const config = {
      warehouse: 'data.duckdb',
      lockTimeoutSeconds: 30,
      memoryLimit: '512MB',
      threads: 2,
      thresholds: {candleLagMinutes: {'1m': {warn: 3, fail: 6}}, runSuccessRate: {warn: 0.995, fail: 0.98}, consecutiveFailures: 5, diskFreePercent: {warn: 20}},
      deployments: {'ohlcv-1h-scheduled': {cron: '0 * * * *', lookback: '6h', retries: 5, retryDelaySeconds: 30, timeoutSeconds: 0, paused: true}},
      scheduler: {port: 0, logMaxBytes: 1_048_576, logFiles: 3},
      retention: {'1m': 30, trades: 730},
      ingest: {earliestTime: '2009-01-01T00:00:00Z', maxFuture: '1d'},
    }
    writeFileSync(join(home, 'config.json'), JSON.stringify(config))
    const result = await k2ops(['deployments', '--home', home, '--json'], {K2OPS_THREADS: '4', K2OPS_LOCK_TIMEOUT: '5', K2OPS_MEMORY_LIMIT: '2GiB'})
    expect(result.exitCode, result.stderr).toBe(0)
    const hourly = result.json.deployments.find((deployment: {name: string}) => deployment.name === 'ohlcv-1h-scheduled')
    expect(hourly).toMatchObject({cron: '0 * * * *', retries: 5, retryDelaySeconds: 30, timeoutSeconds: 0, paused: true})
    const retention = await k2ops(['retention', '--dry-run', '--home', home, '--json'])
    // The warehouse named in the config does not exist yet: the config itself was accepted.
    expect(retention.json.error.message).toBe(`no warehouse at ${join(home, 'data.duckdb')}`)
  })

  it('k2ops --help and a command\'s --help do not load the schema library; a command does', async () => {
    const dir = tempDir()
    const record = join(dir, 'loaded.txt')
    writeFileSync(join(dir, 'hooks.mjs'), `import {appendFileSync} from 'node:fs'
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  if (resolved.url.includes('/node_modules/valibot/')) appendFileSync(${JSON.stringify(record)}, resolved.url + '\\n')
  return resolved
}
`)
    writeFileSync(join(dir, 'register.mjs'), "import {register} from 'node:module'\nregister('./hooks.mjs', import.meta.url)\n")
    const loaded = async (args: string[]) => {
      writeFileSync(record, '')
      const result = await execa('node', ['--import', join(dir, 'register.mjs'), BIN, ...args], {reject: false})
      expect(result.exitCode, result.stderr).toBe(0)
      return readFileSync(record, 'utf8') !== ''
    }

    expect(await loaded(['--help'])).toBe(false)
    expect(await loaded(['deployments', '--help'])).toBe(false)
    expect(await loaded(['deployments', '--home', join(dir, 'home')])).toBe(true)
  })
})
