import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {formatLogLine, openSchedulerLog} from '../../../src/pipeline/scheduler/scheduler-log.js'
import {useTempDir} from '../../helpers/temp-home.js'

describe('the scheduler log', () => {
  const tempDir = useTempDir()

  it('writes one JSON object per line, private to the owner, rotated by size into a bounded number of files', async () => {
    const dir = tempDir()
    const file = join(dir, 'scheduler.log')
    const {log, close} = await openSchedulerLog({file, maxBytes: 4096, maxFiles: 2})
    for (let i = 0; i < 200; i++) log('info', 'run.completed', {runId: `run-${i}`, deployment: 'ohlcv-1m-scheduled', durationMs: i})
    await close()

    // The live file and two rotated ones (rotating-file-stream also keeps its list of them in scheduler.log.txt).
    const files = readdirSync(dir).filter((name) => name !== 'scheduler.log.txt').sort()
    expect(files[0]).toBe('scheduler.log')
    expect(files.slice(1)).toEqual([expect.stringMatching(/^scheduler\.log\.\d+$/), expect.stringMatching(/^scheduler\.log\.\d+$/)])
    for (const name of files) {
      expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(4096 + 512)
      expect(statSync(join(dir, name)).mode & 0o077).toBe(0)
    }

    const entries = files.flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)))
    // The oldest lines went with the rotated files beyond the two kept; the newest are all there.
    expect(entries.length).toBeLessThan(200)
    const last = entries.find((entry) => entry.runId === 'run-199')
    expect(last).toMatchObject({level: 'info', event: 'run.completed', runId: 'run-199', deployment: 'ohlcv-1m-scheduled', durationMs: 199, pid: process.pid})
    expect(Date.parse(last.time)).toBeGreaterThan(0)
  })

  it('shows a logged object as one readable line', () => {
    const line = JSON.stringify({level: 'warn', time: '2026-11-26T01:00:00.000Z', pid: 7, event: 'run.retry', runId: 'abc', error: 'warehouse is busy'})
    expect(formatLogLine(line)).toBe('2026-11-26T01:00:00.000Z WARN  run.retry runId=abc error="warehouse is busy"')
    expect(formatLogLine('not json')).toBe('not json')
  })
})
