import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {k2ops} from '../helpers/cli.js'
import {useTempDir} from '../helpers/temp-home.js'
import {holdWarehouse} from '../helpers/warehouse-holder.js'

// `k2ops maintain` on DuckDB is a CHECKPOINT and nothing more, and its daily deployment is paused
// there by default. (On Spark: test/spark/maintain.test.ts.)

describe('k2ops maintain on DuckDB', () => {
  const tempDir = useTempDir('k2ops-maintain-')

  async function initHome(config?: object): Promise<string> {
    const home = tempDir()
    if (config) writeFileSync(join(home, 'config.json'), JSON.stringify(config))
    const init = await k2ops(['init', '--home', home])
    expect(init.exitCode, init.stderr).toBe(0)
    return home
  }

  it('runs CHECKPOINT, reports it, writes an audit record and a run; --dry-run says it would', async () => {
    const home = await initHome()
    const warehouse = join(home, 'warehouse.duckdb')
    const dry = await k2ops(['maintain', '--dry-run', '--home', home, '--json'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.json).toMatchObject({engine: 'duckdb', target: warehouse, dryRun: true, auditId: null})
    expect(dry.json.tables).toEqual([{table: warehouse, before: expect.objectContaining({snapshots: null, dataFiles: 1}), after: null, steps: [expect.objectContaining({step: 'checkpoint', summary: expect.stringMatching(/^would run CHECKPOINT/)})]}])

    const run = await k2ops(['maintain', '--home', home])
    expect(run.exitCode, run.stderr).toBe(0)
    expect(run.stdout).toMatch(new RegExp(`^Maintained ${warehouse.replaceAll('.', '\\.')} \\(duckdb\\):`))
    expect(run.stdout).toMatch(/checkpoint\s+ran CHECKPOINT: \d+ → \d+ bytes/)
    const audit = readFileSync(join(home, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line))
    expect(audit.map((record) => [record.command, record.outcome])).toEqual([['maintain', 'started'], ['maintain', 'completed']])
    expect(audit[1].details).toMatchObject({warehouse, engine: 'duckdb', tables: [{table: warehouse, steps: {checkpoint: expect.any(Object)}}]})

    const runs = await k2ops(['runs', '--home', home, '--json'])
    expect(runs.json.runs.map((r: {flow: string; state: string; trigger: string}) => [r.flow, r.state, r.trigger])).toEqual([['Table-Maintenance', 'Completed', 'manual']])
    const byName = await k2ops(['runs', '--flow', 'maintain', '--home', home, '--json'])
    expect(byName.exitCode, byName.stderr).toBe(0)
    expect(byName.json.runs.map((r: {flow: string}) => r.flow)).toEqual(['Table-Maintenance'])
  })

  it('waits for the warehouse like the flows, then exits 4 naming the holder', async () => {
    const home = await initHome()
    const holder = await holdWarehouse(join(home, 'warehouse.duckdb'), 'trigger 1m')
    try {
      const busy = await k2ops(['maintain', '--home', home, '--lock-timeout', '0', '--json'])
      expect(busy.exitCode).toBe(4)
      expect(busy.json.error).toMatchObject({code: 'warehouse_busy', exit: 4})
      expect(busy.json.error.message).toContain('trigger 1m')
    } finally {
      await holder.release()
    }
  })

  it('its deployment is paused on DuckDB, and `deployments resume maintain` resumes it', async () => {
    const home = await initHome()
    const listed = await k2ops(['deployments', '--home', home, '--json'], {K2OPS_NOW: '2024-08-10T12:00:00Z'})
    expect(listed.json.deployments.at(-1)).toMatchObject({name: 'maintain-scheduled', command: 'k2ops maintain', cron: '30 3 * * *', paused: true, nextRun: null})
    const resumed = await k2ops(['deployments', 'resume', 'maintain', '--home', home, '--json'], {K2OPS_NOW: '2024-08-10T12:00:00Z'})
    expect(resumed.exitCode, resumed.stderr).toBe(0)
    expect(resumed.json).toMatchObject({deployment: 'maintain-scheduled', paused: false, changed: true, nextRun: '2024-08-11T03:30:00Z'})
    const again = await k2ops(['deployments', '--home', home, '--json'])
    expect(again.json.deployments.at(-1)).toMatchObject({name: 'maintain-scheduled', paused: false})
  })

  it('refuses an orphan age under 3 days, naming the setting (exit 2)', async () => {
    const home = tempDir()
    writeFileSync(join(home, 'config.json'), JSON.stringify({maintenance: {orphanAge: '1d'}}))
    const refused = await k2ops(['maintain', '--home', home])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr.trim().split('\n')[0]).toMatch(/^k2ops: .*config\.json: maintenance\.orphanAge: "1d" is not allowed: a duration of at least 3d/)
  })
})
