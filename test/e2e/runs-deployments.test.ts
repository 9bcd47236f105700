import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RunHistory, RunRecord, RunState} from '../../src/pipeline/run-history.js'
import {TIMEFRAMES} from '../../src/pipeline/timeframes.js'
import {k2ops, k2opsTracingNativeModules} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'
import {holdWarehouse} from '../helpers/warehouse-holder.js'

/** The clock of the known history below: its newest run starts at NOW. */
const NOW = '2024-08-10T12:00:00Z'
const MINUTE = 60_000

type Fields = Partial<RunRecord> & {flow: string; state: RunState; minutesAgo: number}

function record({minutesAgo, ...fields}: Fields): RunRecord {
  const timeframe = /^OHLCV-(\w+)-Pipeline$/.exec(fields.flow)?.[1]
  const startedMs = Date.parse(NOW) - minutesAgo * MINUTE
  return {
    id: `${fields.flow}-${minutesAgo}`,
    deployment: timeframe ? `ohlcv-${timeframe}-scheduled` : '-',
    timeframe: timeframe ?? '1h',
    trigger: 'scheduled',
    startedAt: new Date(startedMs).toISOString(),
    ...(fields.durationMs === undefined ? {} : {endedAt: new Date(startedMs + fields.durationMs).toISOString()}),
    // This test's process: alive while the CLI reads the history, so the Running run reads Running.
    pid: process.pid,
    warehouse: '/nowhere/warehouse.duckdb',
    ...fields,
  }
}

/**
 * 34 runs. 1m: every 5 min from 12:00 back to 10:00: the newest Running, then 20 Completed of 0.1 s … 2.0 s
 * (in shuffled order), then Failed 3 s, Failed 4 s, TimedOut 300 s, Crashed. 5m: Completed, Skipped,
 * Cancelled. 1h: Completed 70, 80, 30, 40 s. Backfill: Completed 360 s, Failed.
 */
function knownRuns(): RunRecord[] {
  const runs: RunRecord[] = [record({flow: 'OHLCV-1m-Pipeline', state: 'Running', minutesAgo: 0})]
  for (let i = 1; i <= 20; i++) {
    runs.push(record({flow: 'OHLCV-1m-Pipeline', state: 'Completed', minutesAgo: i * 5, durationMs: (((i * 7) % 20) + 1) * 100, candles: 60 + i, rangeFrom: '2024-08-10T11:40:00Z', rangeTo: '2024-08-10T11:50:00Z'}))
  }

  runs.push(
    record({flow: 'OHLCV-1m-Pipeline', state: 'Failed', minutesAgo: 105, durationMs: 3000, attempt: 3, error: 'disk full'}),
    record({flow: 'OHLCV-1m-Pipeline', state: 'Failed', minutesAgo: 110, durationMs: 4000, attempt: 2, error: 'disk full'}),
    record({flow: 'OHLCV-1m-Pipeline', state: 'TimedOut', minutesAgo: 115, durationMs: 300_000, error: 'timed out after 300 s'}),
    record({flow: 'OHLCV-1m-Pipeline', state: 'Crashed', minutesAgo: 120, error: `process 4242 ended while the run was Running ${'(and a long story after it) '.repeat(4)}`.trim()}),
    record({flow: 'OHLCV-5m-Pipeline', state: 'Completed', minutesAgo: 8, durationMs: 2000}),
    record({flow: 'OHLCV-5m-Pipeline', state: 'Skipped', minutesAgo: 23, durationMs: 0, note: 'the scheduler was down at this tick'}),
    record({flow: 'OHLCV-5m-Pipeline', state: 'Cancelled', minutesAgo: 38, durationMs: 500}),
    record({flow: 'OHLCV-1h-Pipeline', state: 'Completed', minutesAgo: 45, durationMs: 70_000}),
    record({flow: 'OHLCV-1h-Pipeline', state: 'Completed', minutesAgo: 106, durationMs: 80_000}),
    record({flow: 'OHLCV-1h-Pipeline', state: 'Completed', minutesAgo: 165, durationMs: 30_000}),
    record({flow: 'OHLCV-1h-Pipeline', state: 'Completed', minutesAgo: 225, durationMs: 40_000}),
    record({flow: 'backfill', state: 'Completed', trigger: 'backfill', minutesAgo: 150, durationMs: 360_000, rangeFrom: '2024-08-01T00:00:00Z', rangeTo: '2024-08-08T00:00:00Z'}),
    record({flow: 'backfill', state: 'Failed', trigger: 'backfill', minutesAgo: 180, durationMs: 1000, error: 'no trades in range'}),
  )
  return runs
}

/** A home whose run history holds `runs`, written as RunHistory writes it: a Running line first, then the final one. */
function homeWithRuns(home: string, runs: RunRecord[]): string {
  const history = new RunHistory(join(home, 'state', 'runs.jsonl'))
  for (const run of runs) {
    if (run.state !== 'Running') history.write({...run, state: 'Running', durationMs: undefined, endedAt: undefined, error: undefined})
    history.write(run)
  }

  return home
}

const ids = (result: {json: {runs: RunRecord[]}}) => result.json.runs.map((run) => run.id)

describe('k2ops runs', () => {
  const tempDir = useTempDir()
  const known = knownRuns()
  const newestFirst = [...known].sort((a, b) => b.startedAt.localeCompare(a.startedAt))
  let home = ''
  let demoHome = ''

  beforeAll(async () => {
    home = homeWithRuns(mkdtempSync(join(tmpdir(), 'k2ops-runs-')), known)
    demoHome = join(mkdtempSync(join(tmpdir(), 'k2ops-runs-demo-')), 'demo')
    const demo = await k2ops(['demo', '--home', demoHome, '--trades', '5000', '--json'])
    expect(demo.exitCode, demo.stderr).toBe(0)
  }, 120_000)

  afterAll(() => {
    for (const dir of [home, dirname(demoHome)]) if (dir) rmSync(dir, {recursive: true, force: true})
  })

  const runs = (args: string[], now = NOW) => k2ops(['runs', '--home', home, '--json', ...args], {K2OPS_NOW: now})

  it('lists the newest 20 by default, each run once (the last line for an id wins)', async () => {
    const result = await runs([])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(Object.keys(result.json)).toEqual(['runs', 'summary'])
    expect(ids(result)).toEqual(newestFirst.slice(0, 20).map((run) => run.id))
    expect(result.json.runs[0]).toEqual(known[0])
    // The summary covers every matching run, not only the 20 shown.
    expect(result.json.summary.reduce((sum: number, flow: {runs: number}) => sum + flow.runs, 0)).toBe(34)
  })

  it('filters by flow (name, timeframe, deployment, any case; backfill), state, since and limit', async () => {
    const oneMinute = known.filter((run) => run.flow === 'OHLCV-1m-Pipeline').map((run) => run.id)
    const [byFlow, byTimeframe, byDeployment, anyCase, backfill] = await Promise.all(
      ['OHLCV-1m-Pipeline', '1m', 'ohlcv-1m-scheduled', 'ohlcv-1M-PIPELINE', 'backfill'].map((flow) => runs(['--flow', flow, '--limit', '100'])),
    )
    for (const result of [byFlow, byTimeframe, byDeployment, anyCase]) {
      expect(result.exitCode, result.stderr).toBe(0)
      expect(ids(result)).toEqual(oneMinute)
      expect(result.json.summary.map((flow: {flow: string}) => flow.flow)).toEqual(['OHLCV-1m-Pipeline'])
    }

    expect(backfill.json.runs.map((run: RunRecord) => [run.flow, run.state])).toEqual([
      ['backfill', 'Completed'],
      ['backfill', 'Failed'],
    ])

    const [failed, several, sinceHour, sinceIso, laterClock, limited] = await Promise.all([
      runs(['--state', 'Failed']),
      runs(['--state', 'failed,TIMEDOUT', '--state', 'crashed']),
      runs(['--since', '-1h', '--limit', '100']),
      runs(['--since', '2024-08-10T11:00:00Z', '--limit', '100']),
      runs(['--since', '-1h'], '2024-08-10T13:00:00Z'),
      runs(['--limit', '3']),
    ])
    expect(failed.json.runs.map((run: RunRecord) => [run.flow, run.error])).toEqual([
      ['OHLCV-1m-Pipeline', 'disk full'],
      ['OHLCV-1m-Pipeline', 'disk full'],
      ['backfill', 'no trades in range'],
    ])
    expect(several.json.runs.map((run: RunRecord) => run.state)).toEqual(['Failed', 'Failed', 'TimedOut', 'Crashed', 'Failed'])
    // Started at or after 11:00: 13 of the 1m runs, the 5m runs, one 1h run.
    const lastHour = newestFirst.filter((run) => run.startedAt >= '2024-08-10T11:00:00.000Z').map((run) => run.id)
    expect(lastHour).toHaveLength(17)
    expect(ids(sinceHour)).toEqual(lastHour)
    expect(ids(sinceIso)).toEqual(lastHour)
    // The same relative --since under another clock: only the run of 12:00.
    expect(ids(laterClock)).toEqual([known[0].id])
    expect(limited.json.runs.map((run: RunRecord) => `${run.flow} ${run.startedAt}`)).toEqual([
      'OHLCV-1m-Pipeline 2024-08-10T12:00:00.000Z',
      'OHLCV-1m-Pipeline 2024-08-10T11:55:00.000Z',
      'OHLCV-5m-Pipeline 2024-08-10T11:52:00.000Z',
    ])
  })

  it('sorts by duration, longest first, runs without a duration last', async () => {
    const [all, oneMinute] = await Promise.all([runs(['--sort', 'duration', '--limit', '4']), runs(['--sort', 'duration', '--flow', '1m', '--limit', '100'])])
    expect(all.json.runs.map((run: RunRecord) => [run.flow, run.durationMs])).toEqual([
      ['backfill', 360_000],
      ['OHLCV-1m-Pipeline', 300_000],
      ['OHLCV-1h-Pipeline', 80_000],
      ['OHLCV-1h-Pipeline', 70_000],
    ])
    const durations = oneMinute.json.runs.map((run: RunRecord) => run.durationMs)
    expect(durations.slice(0, 5)).toEqual([300_000, 4000, 3000, 2000, 1900])
    expect(durations.slice(-2)).toEqual([undefined, undefined])
    expect(oneMinute.json.runs.slice(-2).map((run: RunRecord) => run.state)).toEqual(['Running', 'Crashed'])
  })

  it('sums up each flow: runs, success rate over finished runs, p50/p95 of completed runs against the target', async () => {
    const [json, text] = await Promise.all([runs([]), k2ops(['runs', '--home', home], {K2OPS_NOW: NOW})])
    expect(json.json.summary).toEqual([
      {flow: 'OHLCV-1m-Pipeline', runs: 25, completed: 20, failed: 4, successRate: 20 / 24, p50Seconds: 1, p95Seconds: 1.9, targetSeconds: 20, failureStreak: 0},
      {flow: 'OHLCV-5m-Pipeline', runs: 3, completed: 1, failed: 0, successRate: 1, p50Seconds: 2, p95Seconds: 2, targetSeconds: 30, failureStreak: 0},
      {flow: 'OHLCV-1h-Pipeline', runs: 4, completed: 4, failed: 0, successRate: 1, p50Seconds: 40, p95Seconds: 80, targetSeconds: 60, failureStreak: 0},
      {flow: 'backfill', runs: 2, completed: 1, failed: 1, successRate: 0.5, p50Seconds: 360, p95Seconds: 360, targetSeconds: null, failureStreak: 0},
    ])

    expect(text.exitCode, text.stderr).toBe(0)
    const lines = text.stdout.split('\n')
    expect(lines[0]).toMatch(/^ID\s+FLOW\s+STATE\s+TRIGGER\s+STARTED \(UTC\)\s+DURATION\s+ATTEMPT\s+RANGE\s+CANDLES\s+ERROR$/)
    expect(lines[1]).toMatch(/^\S{1,8}\s+OHLCV-1m-Pipeline\s+Running\s+scheduled\s+2024-08-10T12:00:00Z\s+-\s+1\s+-\s+-$/)
    expect(text.stdout).toMatch(/^\S{1,8}\s+OHLCV-1m-Pipeline\s+Completed\s+scheduled\s+2024-08-10T11:55:00Z\s+0\.80 s\s+1\s+2024-08-10T11:40:00Z → 11:50:00Z\s+61$/m)
    // Without an error, the note says why a run was skipped.
    expect(text.stdout).toMatch(/^\S{1,8}\s+OHLCV-5m-Pipeline\s+Skipped\s+scheduled\s+2024-08-10T11:37:00Z\s+0\.00 s\s+1\s+-\s+-\s+the scheduler was down at this tick$/m)
    expect(lines.slice(-5)).toEqual([
      '20 of 34 matching runs shown (--limit); per flow, over all 34:',
      expect.stringMatching(/^OHLCV-1m-Pipeline\s+25 runs\s+83\.3% ok\s+p50 1\.00 s\s+p95 1\.90 s\s+\(target < 20 s\)$/),
      expect.stringMatching(/^OHLCV-5m-Pipeline\s+3 runs\s+100% ok\s+p50 2\.00 s\s+p95 2\.00 s\s+\(target < 30 s\)$/),
      expect.stringMatching(/^OHLCV-1h-Pipeline\s+4 runs\s+100% ok\s+p50 40\.00 s\s+p95 80\.00 s\s+\(target < 60 s, p95 above it\)$/),
      expect.stringMatching(/^backfill\s+2 runs\s+50% ok\s+p50 360\.0 s\s+p95 360\.0 s$/),
    ])
  })

  it('keeps long errors to 80 characters in the table, whole in the JSON', async () => {
    const [text, json] = await Promise.all([k2ops(['runs', '--home', home, '--state', 'Crashed'], {K2OPS_NOW: NOW}), runs(['--state', 'Crashed'])])
    const crashed = known.find((run) => run.state === 'Crashed')!
    expect(crashed.error!.length).toBeGreaterThan(80)
    expect(json.json.runs[0].error).toBe(crashed.error)
    const row = text.stdout.split('\n')[1]
    expect(row.endsWith(`${crashed.error!.slice(0, 79)}…`)).toBe(true)
  })

  it('says in one line that the history is empty, or that nothing matched, and exits 0', async () => {
    const empty = tempDir()
    const [text, json, none] = await Promise.all([
      k2ops(['runs', '--home', empty]),
      k2ops(['runs', '--home', empty, '--json']),
      k2ops(['runs', '--home', home, '--flow', '5m', '--state', 'Failed'], {K2OPS_NOW: NOW}),
    ])
    expect(text.exitCode, text.stderr).toBe(0)
    expect(text.stdout.split('\n')).toEqual([`No runs recorded yet in ${join(empty, 'state', 'runs.jsonl')} (k2ops trigger all runs the five flows; the scheduler records its runs there too).`])
    expect(json.json).toEqual({runs: [], summary: []})
    expect(none.exitCode, none.stderr).toBe(0)
    expect(none.stdout).toBe('No runs match --flow 5m --state Failed (34 runs recorded in all).')
  })

  it('rejects a bad --state, --sort, --flow or --since with exit 2 and a one-line message', async () => {
    const [state, sort, flow, since, json] = await Promise.all([
      k2ops(['runs', '--home', home, '--state', 'Completed,Done']),
      k2ops(['runs', '--home', home, '--sort', 'name']),
      k2ops(['runs', '--home', home, '--flow', '2m']),
      k2ops(['runs', '--home', home, '--since', 'yesterday']),
      k2ops(['runs', '--home', home, '--state', 'done', '--json']),
    ])
    for (const result of [state, sort, flow, since]) {
      expect(result.exitCode, result.stderr).toBe(2)
      expect(result.stdout).toBe('')
    }

    expect(state.stderr.split('\n')[0]).toBe('k2ops: Expected --state=Done to be one of: Scheduled, Running, Completed, Failed, TimedOut, Crashed, Cancelled, Skipped See more help with --help')
    expect(sort.stderr.split('\n')[0]).toBe('k2ops: Expected --sort=name to be one of: start, duration See more help with --help')
    expect(flow.stderr.trim()).toBe(
      "k2ops: --flow: no flow '2m' (expected a flow such as OHLCV-1m-Pipeline, a timeframe (1m, 5m, 30m, 1h, 1d), a deployment such as ohlcv-1m-scheduled, backfill or maintain)",
    )
    // --since is --from's deprecated spelling: the note first, then the error naming the flag typed.
    expect(since.stderr.trim().split('\n')).toEqual(['k2ops: --since is deprecated: use --from yesterday', expect.stringMatching(/^k2ops: --since: 'yesterday' is not an ISO-8601 instant/)])
    expect(json.exitCode).toBe(2)
    expect(json.json.error).toMatchObject({code: 'usage', exit: 2, message: expect.stringContaining('--state=done')})
  })

  it('reads the history a real demo wrote: filters, duration order, since', async () => {
    const all = await k2ops(['runs', '--home', demoHome, '--json'])
    expect(all.exitCode, all.stderr).toBe(0)
    const demoRuns: RunRecord[] = all.json.runs
    expect(demoRuns).toHaveLength(10)
    expect(new Set(demoRuns.map((run) => `${run.trigger} ${run.state}`))).toEqual(new Set(['demo Completed']))
    expect(all.json.summary.map((flow: {flow: string; runs: number; successRate: number}) => [flow.flow, flow.runs, flow.successRate])).toEqual(
      TIMEFRAMES.map((tf) => [`OHLCV-${tf}-Pipeline`, 2, 1]),
    )
    for (const flow of all.json.summary) expect(flow.p95Seconds).toBeLessThan(flow.targetSeconds)

    const newest = demoRuns[0].startedAt
    const sinceNewest = demoRuns.filter((run) => run.startedAt >= newest).map((run) => run.id)
    const [thirtyMinutes, failed, longest, since] = await Promise.all([
      k2ops(['runs', '--home', demoHome, '--flow', '30m', '--json']),
      k2ops(['runs', '--home', demoHome, '--state', 'Failed,Crashed']),
      k2ops(['runs', '--home', demoHome, '--sort', 'duration', '--limit', '3', '--json']),
      // Demo runs are stamped by the wall clock: an hour before a clock an hour after the newest is the newest.
      k2ops(['runs', '--home', demoHome, '--since', '-1h', '--json'], {K2OPS_NOW: new Date(Date.parse(newest) + 3_600_000).toISOString()}),
    ])
    expect(thirtyMinutes.json.runs.map((run: RunRecord) => run.flow)).toEqual(['OHLCV-30m-Pipeline', 'OHLCV-30m-Pipeline'])
    expect(thirtyMinutes.json.runs.map((run: RunRecord) => run.id)).toEqual(demoRuns.filter((run) => run.timeframe === '30m').map((run) => run.id))
    expect(failed.exitCode).toBe(0)
    expect(failed.stdout).toBe('No runs match --state Failed,Crashed (10 runs recorded in all).')
    const byDuration = [...demoRuns].sort((a, b) => b.durationMs! - a.durationMs!)
    expect(longest.json.runs.map((run: RunRecord) => run.durationMs)).toEqual(byDuration.slice(0, 3).map((run) => run.durationMs))
    expect(ids(since)).toEqual(sinceNewest)
  })

  // How fast they answer is bench/answers-while-held.mjs's; here: that they answer, without DuckDB.
  it('never loads DuckDB, and answers while another process holds the warehouse read-write', async () => {
    const holder = await holdWarehouse(join(demoHome, 'warehouse.duckdb'), 'test hold')
    try {
      // The warehouse really is held: a command that needs it gives up with exit 4.
      const busy = await k2ops(['validate', '--home', demoHome, '--lock-timeout', '0', '--json'])
      expect(busy.json?.error, busy.stderr).toMatchObject({code: 'warehouse_busy', exit: 4, message: expect.stringContaining('test hold')})

      for (const command of [['runs', '--limit', '5'], ['deployments']]) {
        // DuckDB is a native addon: a command that did not load it did not open (or wait for) the warehouse.
        const result = await k2opsTracingNativeModules([...command, '--home', demoHome])
        expect(result.exitCode, result.stderr).toBe(0)
        expect(result.nativeModules, command[0]).toEqual([])
        expect(result.stdout).toMatch(command[0] === 'runs' ? /OHLCV-1d-Pipeline\s+2 runs\s+100% ok/ : /ohlcv-1d-scheduled/)
      }
    } finally {
      await holder.release()
    }
  })
})

describe('k2ops deployments', () => {
  const tempDir = useTempDir()
  const CLOCK = '2024-08-10T12:34:56Z'
  const deployments = (home: string, args: string[] = []) => k2ops(['deployments', '--home', home, ...args], {K2OPS_NOW: CLOCK})

  it('lists exactly the six deployments (the five flows, then maintenance, paused on DuckDB) with their crons and next runs', async () => {
    const home = tempDir()
    const [json, text] = await Promise.all([deployments(home, ['--json']), deployments(home)])
    expect(json.exitCode, json.stderr).toBe(0)
    expect(json.json.deployments.map((d: {name: string; cron: string; nextRun: string}) => [d.name, d.cron, d.nextRun])).toEqual([
      ['ohlcv-1m-scheduled', '*/5 * * * *', '2024-08-10T12:35:00Z'],
      ['ohlcv-5m-scheduled', '5,20,35,50 * * * *', '2024-08-10T12:35:00Z'],
      ['ohlcv-30m-scheduled', '10,40 * * * *', '2024-08-10T12:40:00Z'],
      ['ohlcv-1h-scheduled', '15 * * * *', '2024-08-10T13:15:00Z'],
      ['ohlcv-1d-scheduled', '5 0 * * *', '2024-08-11T00:05:00Z'],
      ['maintain-scheduled', '30 3 * * *', null],
    ])
    expect(json.json.deployments[5]).toEqual({
      name: 'maintain-scheduled',
      flow: 'Table-Maintenance',
      timeframe: null,
      command: 'k2ops maintain',
      cron: '30 3 * * *',
      nextRun: null,
      lookback: null,
      lookbackSeconds: null,
      retries: 2,
      retryDelaySeconds: 60,
      timeoutSeconds: 3600,
      paused: true,
      targetSeconds: 600,
    })
    expect(json.json.deployments[0]).toEqual({
      name: 'ohlcv-1m-scheduled',
      flow: 'OHLCV-1m-Pipeline',
      timeframe: '1m',
      command: 'k2ops trigger 1m',
      cron: '*/5 * * * *',
      nextRun: '2024-08-10T12:35:00Z',
      lookback: '10m',
      lookbackSeconds: 600,
      retries: 2,
      retryDelaySeconds: 60,
      timeoutSeconds: 300,
      paused: false,
      targetSeconds: 20,
    })
    expect(json.json.deployments.map((d: {lookback: string}) => d.lookback)).toEqual(['10m', '20m', '1h', '2h', '2d', null])

    expect(text.exitCode, text.stderr).toBe(0)
    const lines = text.stdout.split('\n')
    expect(lines).toHaveLength(7)
    expect(lines[0]).toMatch(/^NAME\s+FLOW\s+CRON \(UTC\)\s+NEXT RUN \(UTC\)\s+LOOKBACK\s+RETRIES\s+RETRY DELAY\s+TIMEOUT$/)
    expect(lines[1]).toMatch(/^ohlcv-1m-scheduled\s+OHLCV-1m-Pipeline\s+\*\/5 \* \* \* \*\s+2024-08-10T12:35:00Z \(in 4 s\)\s+10m\s+2\s+60 s\s+300 s$/)
    expect(lines[5]).toMatch(/^ohlcv-1d-scheduled\s+OHLCV-1d-Pipeline\s+5 0 \* \* \*\s+2024-08-11T00:05:00Z \(in 11 h 30 min\)\s+2d\s+2\s+60 s\s+300 s$/)
    expect(lines[6]).toMatch(/^maintain-scheduled\s+Table-Maintenance\s+30 3 \* \* \*\s+paused\s+-\s+2\s+60 s\s+3600 s$/)
  })

  it('pause and resume round-trip through config.json, keeping its other keys', async () => {
    const home = tempDir()
    const configFile = join(home, 'config.json')
    const original = {memoryLimit: '2GB', scheduler: {port: 0}, deployments: {'ohlcv-1h-scheduled': {lookback: '6h', retries: 5}}}
    writeFileSync(configFile, JSON.stringify(original))
    const config = () => JSON.parse(readFileSync(configFile, 'utf8'))

    const paused = await k2ops(['deployments', 'pause', '1h', '--home', home], {K2OPS_NOW: CLOCK})
    expect(paused.exitCode, paused.stderr).toBe(0)
    expect(paused.stdout.split('\n')).toEqual([
      'Paused ohlcv-1h-scheduled (OHLCV-1h-Pipeline): no scheduled runs until `k2ops deployments resume 1h`.',
      `Written to ${configFile}; a running scheduler picks it up at its next decision (it re-reads the config).`,
    ])
    expect(config()).toEqual({...original, deployments: {'ohlcv-1h-scheduled': {lookback: '6h', retries: 5, paused: true}}})

    const [listed, table] = await Promise.all([deployments(home, ['--json']), deployments(home)])
    expect(listed.json.deployments.find((d: {name: string}) => d.name === 'ohlcv-1h-scheduled')).toMatchObject({paused: true, nextRun: null, lookback: '6h', retries: 5})
    // Paused now: this one, and maintenance (paused by default on DuckDB).
    expect(listed.json.deployments.filter((d: {paused: boolean}) => d.paused).map((d: {name: string}) => d.name)).toEqual(['ohlcv-1h-scheduled', 'maintain-scheduled'])
    expect(table.stdout).toMatch(/^ohlcv-1h-scheduled\s+OHLCV-1h-Pipeline\s+15 \* \* \* \*\s+paused\s+6h\s+5\s+60 s\s+300 s$/m)

    // Pausing again says so and writes nothing.
    const before = statSync(configFile).mtimeMs
    const again = await k2ops(['deployments', 'pause', 'ohlcv-1h-scheduled', '--home', home, '--json'], {K2OPS_NOW: CLOCK})
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.json).toEqual({deployment: 'ohlcv-1h-scheduled', flow: 'OHLCV-1h-Pipeline', timeframe: '1h', paused: true, changed: false, configFile, nextRun: null})
    const againText = await k2ops(['deployments', 'pause', '1h', '--home', home])
    expect(againText.stdout).toBe('ohlcv-1h-scheduled is already paused; nothing changed.')
    expect(statSync(configFile).mtimeMs).toBe(before)

    const resumed = await k2ops(['deployments', 'resume', 'OHLCV-1h-Pipeline', '--home', home], {K2OPS_NOW: CLOCK})
    expect(resumed.exitCode, resumed.stderr).toBe(0)
    expect(resumed.stdout.split('\n')[0]).toBe('Resumed ohlcv-1h-scheduled (OHLCV-1h-Pipeline). Next run 2024-08-10T13:15:00Z.')
    expect(resumed.stdout).toContain('picks it up at its next decision')
    expect(config()).toEqual({...original, deployments: {'ohlcv-1h-scheduled': {lookback: '6h', retries: 5, paused: false}}})
    const after = await deployments(home, ['--json'])
    expect(after.json.deployments.find((d: {name: string}) => d.name === 'ohlcv-1h-scheduled')).toMatchObject({paused: false, nextRun: '2024-08-10T13:15:00Z'})

    const resumedAgain = await k2ops(['deployments', 'resume', '1h', '--home', home, '--json'], {K2OPS_NOW: CLOCK})
    expect(resumedAgain.json).toMatchObject({changed: false, paused: false, nextRun: '2024-08-10T13:15:00Z'})
  })

  it('an unknown name exits 2 naming the valid ones, and leaves the config alone', async () => {
    const home = tempDir()
    const configFile = join(home, 'config.json')
    writeFileSync(configFile, '{"memoryLimit": "2GB"}')
    const [text, json] = await Promise.all([
      k2ops(['deployments', 'pause', 'ohlcv-2m-scheduled', '--home', home]),
      k2ops(['deployments', 'resume', '2m', '--home', home, '--json']),
    ])
    expect(text.exitCode).toBe(2)
    expect(text.stderr.trim()).toBe(
      "k2ops: unknown deployment 'ohlcv-2m-scheduled' (expected one of ohlcv-1m-scheduled, ohlcv-5m-scheduled, ohlcv-30m-scheduled, ohlcv-1h-scheduled, ohlcv-1d-scheduled, maintain-scheduled)",
    )
    expect(json.exitCode).toBe(2)
    expect(json.json.error).toMatchObject({code: 'unknown_deployment', exit: 2})
    expect(readFileSync(configFile, 'utf8')).toBe('{"memoryLimit": "2GB"}')
  })

  it('a bad cron in config.json exits 2 naming the deployment, for the list and for pause', async () => {
    const home = tempDir()
    const configFile = join(home, 'config.json')
    const content = JSON.stringify({deployments: {'ohlcv-5m-scheduled': {cron: '*/5 * * *'}}})
    writeFileSync(configFile, content)
    const [list, json, pause] = await Promise.all([deployments(home), deployments(home, ['--json']), k2ops(['deployments', 'pause', '1m', '--home', home])])
    expect(list.exitCode).toBe(2)
    expect(list.stdout).toBe('')
    expect(list.stderr.trim()).toBe(`k2ops: ${configFile}: deployments.ohlcv-5m-scheduled.cron: "*/5 * * *" is not allowed: a five-field cron in UTC (minute hour day month weekday), e.g. */5 * * * *`)
    expect(json.json.error).toMatchObject({code: 'bad_config', exit: 2, message: expect.stringContaining('ohlcv-5m-scheduled.cron')})
    expect(pause.exitCode).toBe(2)
    expect(pause.stderr).toContain('ohlcv-5m-scheduled.cron')
    expect(readFileSync(configFile, 'utf8')).toBe(content)

    writeFileSync(configFile, JSON.stringify({deployments: {'ohlcv-1d-scheduled': {cron: '5 25 * * *'}}}))
    const invalid = await deployments(home)
    expect(invalid.exitCode).toBe(2)
    expect(invalid.stderr.trim()).toMatch(/^k2ops: .*config\.json: deployments\.ohlcv-1d-scheduled\.cron: "5 25 \* \* \*" is not allowed: a five-field cron .*\(CronPattern: Invalid value for hour: 25\)$/)
  })
})
