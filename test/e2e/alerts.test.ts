import {existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {type IncomingMessage, type Server, createServer} from 'node:http'
import {join} from 'node:path'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import {afterEach, describe, expect, it} from 'vitest'

import type {DeliveryAttempt} from '../../src/pipeline/alerts/delivery.js'
import type {RunRecord} from '../../src/pipeline/run-history.js'

import {k2ops} from '../helpers/cli.js'
import {call, holdHomeWarehouse, killDaemonsAfterEach, newHome, startScheduler, token, until} from '../helpers/scheduler-e2e.js'
import {useTempDir} from '../helpers/temp-home.js'

// Alerts as a receiver sees them: a real daemon, flows in child processes, and real HTTP servers on
// 127.0.0.1 standing in for a webhook, Slack and PagerDuty, and for one that is down. (slow: ~30 s)

killDaemonsAfterEach()

const SLACK_SECRET = 'T000/B000/slack-secret-path-0123456789'
const PD_KEY = 'pd-routing-key-0123456789abcdef'
const DEPLOYMENTS = ['ohlcv-1m-scheduled', 'ohlcv-5m-scheduled', 'ohlcv-30m-scheduled', 'ohlcv-1h-scheduled', 'ohlcv-1d-scheduled', 'maintain-scheduled']

interface MetricFamily {
  name: string
  metrics: Array<{labels?: Record<string, string>; value?: string}>
}

interface Received {
  path: string
  body: any
}

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))))
})

/** A receiver on 127.0.0.1: answers 200 (or never, when `hang`), and keeps what it got. */
async function receiver(options: {hang?: boolean} = {}): Promise<{url: string; received: Received[]}> {
  const received: Received[] = []
  const server = createServer((request: IncomingMessage, response) => {
    let text = ''
    request.on('data', (chunk) => (text += chunk))
    request.on('end', () => {
      received.push({path: request.url ?? '', body: JSON.parse(text)})
      if (!options.hang) response.end('ok')
    })
  })
  servers.push(server)
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  server.closeAllConnections()
  const {port} = server.address() as {port: number}
  return {url: `http://127.0.0.1:${port}`, received}
}

function deliveries(home: string): DeliveryAttempt[] {
  const file = join(home, 'state', 'alerts.jsonl')
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as DeliveryAttempt) : []
}

/** Every text file of the home's state and logs, for the secret search. */
function homeTexts(home: string): string {
  return ['state', 'logs']
    .flatMap((dir) => readdirSync(join(home, dir), {recursive: true, withFileTypes: true}).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)))
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n')
}

describe('alerts from a real scheduler to receivers on 127.0.0.1', () => {
  const tempDir = useTempDir()

  it('tells a failing flow once, a streak once, and resolves both when it passes; a receiver that is down delays no run; no secret is written anywhere', async () => {
    const good = await receiver()
    const hanging = await receiver({hang: true})
    const home = await newHome(tempDir(), {
      // A busy warehouse fails the 1m flow at once (exit 4, no retry); nothing runs but what the test asks for.
      lockTimeoutSeconds: 1,
      scheduler: {port: 0, freshnessSeconds: 0},
      thresholds: {consecutiveFailures: 2},
      deployments: Object.fromEntries(DEPLOYMENTS.map((name) => [name, {paused: true, ...(name === 'ohlcv-1m-scheduled' && {retries: 0})}])),
      alerts: [
        {name: 'hook', type: 'webhook', url: `${good.url}/hook`},
        {name: 'team', type: 'slack', urlEnv: 'TEST_SLACK_URL', events: ['failed', 'crashed']},
        {name: 'oncall', type: 'pagerduty', url: `${good.url}/pd`, routingKeyEnv: 'TEST_PD_KEY', events: ['failure_streak']},
        {name: 'stuck', type: 'webhook', url: `${hanging.url}/stuck`, timeoutSeconds: 3, retries: 2, retryDelaySeconds: 0.5},
      ],
    })
    const env = {TEST_SLACK_URL: `${good.url}/slack/${SLACK_SECRET}`, TEST_PD_KEY: PD_KEY}
    const {port} = await startScheduler(home, [], env)
    const runOnce = async (): Promise<RunRecord> => {
      const queued = (await call(port, 'POST', '/api/deployments/ohlcv-1m-scheduled/run', {token: token(home)})).json.flow_run as RunRecord
      return until('the run to end', async () => {
        const run = (await call(port, 'GET', `/api/flow_runs/${queued.id}`)).json.flow_run as RunRecord
        return run.state === 'Completed' || run.state === 'Failed' ? run : undefined
      })
    }

    const holder = await holdHomeWarehouse(home)
    const failed: RunRecord[] = []
    try {
      for (let i = 0; i < 3; i++) failed.push(await runOnce())
    } finally {
      await holder.release()
    }

    expect(failed.map((run) => run.state)).toEqual(['Failed', 'Failed', 'Failed'])
    const passed = await runOnce()
    expect(passed.state).toBe('Completed')
    const byPath = (prefix: string) => good.received.filter((request) => request.path.startsWith(prefix)).map((request) => request.body)
    await until('the resolves', () => (byPath('/hook').length >= 4 && byPath('/pd').length >= 2 && byPath('/slack').length >= 2 ? true : undefined))

    // The webhook: the failure and the streak once each, though the flow failed three times, then both resolved.
    const hook = byPath('/hook')
    expect(hook.map((body) => [body.state, body.event, body.key])).toEqual([
      ['firing', 'failed', 'run/ohlcv-1m-scheduled'],
      ['firing', 'failure_streak', 'streak/ohlcv-1m-scheduled'],
      ['resolved', 'failed', 'run/ohlcv-1m-scheduled'],
      ['resolved', 'failure_streak', 'streak/ohlcv-1m-scheduled'],
    ])
    expect(hook[0].details).toMatchObject({deployment: 'ohlcv-1m-scheduled', runId: failed[0].id, state: 'Failed'})
    expect(hook[0].summary).toMatch(/^ohlcv-1m-scheduled run \w{8} failed: /)

    // Slack: its events only, in the incoming webhook's shape (text, and blocks of mrkdwn).
    const slack = byPath('/slack')
    expect(good.received.find((request) => request.path.startsWith('/slack'))!.path).toBe(`/slack/${SLACK_SECRET}`)
    expect(slack).toHaveLength(2)
    expect(slack[0]).toEqual({text: expect.stringMatching(/^:rotating_light: ohlcv-1m-scheduled run \w{8} failed/), blocks: [{type: 'section', text: {type: 'mrkdwn', text: slack[0].text}}, {type: 'context', elements: [{type: 'mrkdwn', text: expect.stringContaining('failed ·')}]}]})
    expect(slack[1].text).toMatch(/^:white_check_mark: Resolved: ohlcv-1m-scheduled runs again/)

    // PagerDuty Events API v2: a trigger with its payload, and the resolve with the same dedup key.
    const [trigger, resolve] = byPath('/pd')
    expect(trigger).toEqual({
      routing_key: PD_KEY,
      event_action: 'trigger',
      dedup_key: expect.stringMatching(/^k2ops-[0-9a-f]{12}-streak\/ohlcv-1m-scheduled$/),
      payload: expect.objectContaining({summary: 'ohlcv-1m-scheduled failed 2 times in a row (the last: Failed)', source: expect.stringContaining(home), severity: 'critical', timestamp: expect.any(String), class: 'failure_streak'}),
    })
    expect(resolve).toEqual({routing_key: PD_KEY, event_action: 'resolve', dedup_key: trigger.dedup_key})

    // The receiver that never answers: every attempt recorded as failed, and no run waited for it —
    // the passing run ended before the first alert to it had even given up.
    const stuck = await until('the stuck target to give up on the first alert', () => {
      const attempts = deliveries(home).filter((attempt) => attempt.target === 'stuck' && attempt.key === 'run/ohlcv-1m-scheduled' && attempt.action === 'trigger')
      return attempts.length === 3 ? attempts : undefined
    })
    expect(stuck.map((attempt) => [attempt.attempt, attempt.ok, attempt.error])).toEqual([1, 2, 3].map((n) => [n, false, 'no answer within 3 s']))
    const gaveUpAt = Date.parse(stuck[2].at) + stuck[2].ms
    expect(Date.parse(failed[1].endedAt!)).toBeLessThan(gaveUpAt)
    expect(hanging.received.length).toBeGreaterThanOrEqual(3)

    // What the operator sees: the targets without their secrets, the last deliveries, nothing firing.
    const listed = await k2ops(['alerts', '--home', home, '--json', '--last', '100'], env)
    expect(listed.exitCode, listed.stderr).toBe(0)
    expect(listed.json.targets.map((target: {name: string; secretFrom: string}) => [target.name, target.secretFrom])).toEqual([
      ['hook', 'config.json'],
      ['team', '$TEST_SLACK_URL'],
      ['oncall', '$TEST_PD_KEY'],
      ['stuck', 'config.json'],
    ])
    expect(listed.json.held).toEqual([])
    // /metrics, through a Prometheus text-format parser: the alerts each receiver took, and the stuck one's failure.
    const families = parsePrometheusTextFormat((await call(port, 'GET', '/metrics')).json as string) as MetricFamily[]
    const series = (name: string) => Object.fromEntries((families.find((family) => family.name === name)?.metrics ?? []).map((metric) => [`${metric.labels?.target} ${metric.labels?.event}`, Number(metric.value)]))
    expect(series('k2ops_alerts_sent_total')).toEqual({'hook failed': 2, 'hook failure_streak': 2, 'team failed': 2, 'oncall failure_streak': 2})
    expect(good.received).toHaveLength(8)
    expect(series('k2ops_alerts_failed_total')['stuck failed']).toBeGreaterThanOrEqual(1)

    await k2ops(['scheduler', 'stop', '--home', home])
    for (const text of [homeTexts(home), listed.stdout, (await k2ops(['alerts', '--home', home], env)).stdout, JSON.stringify(await call(port, 'GET', '/api/flow_runs').catch(() => ''))]) {
      expect(text).not.toContain(SLACK_SECRET)
      expect(text).not.toContain(PD_KEY)
    }
  }, 120_000)
})

describe('freshness alerts from a real scheduler', () => {
  const tempDir = useTempDir()

  it('tells late candles per timeframe and a silent exchange, resolves the candles once the flows ran, and serves the lags on /metrics', async () => {
    const dir = tempDir()
    const good = await receiver()
    const home = await newHome(dir, {
      scheduler: {port: 0, freshnessSeconds: 1},
      deployments: Object.fromEntries(DEPLOYMENTS.map((name) => [name, {paused: true}])),
      alerts: [{name: 'hook', type: 'webhook', url: `${good.url}/hook`, events: ['candles_late', 'source_silent', 'health_daily']}],
    })
    const tape = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
    writeFileSync(tape, '3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342,True,True\n3735683260,61837.63000000,0.04800000,2968.20624000,1723161255617,True,True\n')
    expect((await k2ops(['ingest', tape, '--home', home])).exitCode).toBe(0)
    // An hour after the tape's last trade (23:54:15): the feed is silent and no candle is built yet.
    const env = {K2OPS_NOW: '2024-08-09T01:00:00Z'}
    const {port} = await startScheduler(home, [], env)
    const firing = (key: string) => good.received.some((request) => request.body.key === key && request.body.state === 'firing')
    await until('the freshness alerts', () => (['1m', '5m', '30m', '1h', '1d'].every((tf) => firing(`candles_late/${tf}`)) && firing('source_silent/BINANCE') ? true : undefined))
    const silent = good.received.find((request) => request.body.key === 'source_silent/BINANCE')!.body
    expect(silent).toMatchObject({event: 'source_silent', severity: 'error', summary: 'no trades from BINANCE since 2024-08-08T23:54:15.617000Z (3944 s)'})

    expect((await k2ops(['trigger', 'all', '--home', home], env)).exitCode).toBe(0)
    const resolved = (key: string) => good.received.some((request) => request.body.key === key && request.body.state === 'resolved')
    await until('the candles to be resolved', () => (['1m', '5m', '30m', '1h', '1d'].every((tf) => resolved(`candles_late/${tf}`)) ? true : undefined))
    expect(resolved('source_silent/BINANCE')).toBe(false)
    // Told once each, however many evaluations ran meanwhile (one a second).
    expect(good.received.filter((request) => request.body.state === 'firing')).toHaveLength(6)

    const metrics = (await call(port, 'GET', '/metrics')).json as string
    expect(metrics).toMatch(/^k2ops_candle_lag_seconds\{timeframe="1m"\} 0$/m)
    expect(metrics).toMatch(/^k2ops_source_lag_seconds\{exchange="BINANCE"\} 3944$/m)
    const families = parsePrometheusTextFormat(metrics) as MetricFamily[]
    expect(families.find((family) => family.name === 'k2ops_candle_lag_seconds')!.metrics.map((metric) => metric.labels!.timeframe).sort()).toEqual(['1d', '1h', '1m', '30m', '5m'])
    expect(families.find((family) => family.name === 'k2ops_freshness_evaluated_timestamp_seconds')!.metrics).toEqual([{value: String(Date.parse('2024-08-09T01:00:00Z') / 1000)}])

    // A health daily that fails (the silent feed) is told too, by the next evaluation.
    expect((await k2ops(['health', 'daily', '--home', home], env)).exitCode).toBe(1)
    await until('the health alert', () => (firing('health_daily') ? true : undefined))
    expect(good.received.find((request) => request.body.key === 'health_daily')!.body.summary).toMatch(/^health daily failed at 2024-08-09T01:00:00(\.0+)?Z: .*source_lag/)
    const listed = await k2ops(['alerts', '--home', home, '--json'])
    expect(listed.json.held.map((held: {key: string}) => held.key).sort()).toEqual(['health_daily', 'source_silent/BINANCE'])
  })
})
