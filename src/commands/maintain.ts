import {Flags} from '@oclif/core'

import type {MaintainDocument} from '../pipeline/maintenance.js'

import {BaseCommand} from '../base-command.js'
import {endWithTheScheduler, schedulerRunFlags} from '../scheduler-run-flags.js'
import {MAINTENANCE} from '../pipeline/deployments.js'
import {withEngine} from '../pipeline/engine/index.js'
import {errorMessage} from '../pipeline/errors.js'
import {maintenanceSettings, runMaintenance} from '../pipeline/maintenance.js'
import {RunHistory} from '../pipeline/run-history.js'
import {renderMaintenance} from '../render/maintain.js'

export default class Maintain extends BaseCommand<typeof Maintain> {
  static override summary = 'Table maintenance: on Spark, Iceberg compaction, manifest rewrite, snapshot expiry and orphan-file removal; on DuckDB, a checkpoint.'
  static override description = `On Spark, for each table (the trades, the five candle tables, k2ops' marks and ingested files), Iceberg's own procedures: rewrite_data_files over the partitions written since the last maintenance run (to the table's write.target-file-size-bytes), rewrite_manifests, expire_snapshots (those older than maintenance.snapshotAge, default 5d, beyond the newest maintenance.keepSnapshots, default 1), and remove_orphan_files older than maintenance.orphanAge (default 3d, never less). On DuckDB: checkpoint and nothing more. No row of any table changes.

It takes the target's lock as the flows do (never while a flow runs; exit 4 naming the holder); an ingest may run beside it. --dry-run lists what each step would do and changes nothing. A real run reports each table's snapshots, files and bytes before and after, and writes an audit record. The scheduler runs it daily as the deployment maintain-scheduled (paused by default on DuckDB).

Exit codes: 0 done; 1 a step failed (the tables before it are maintained); 2 usage or configuration error; 4 the target is busy: a flow holds its lock, or an Iceberg commit gave up after its retries against a concurrent commit (both named).`

  static override examples = [
    '<%= config.bin %> maintain --dry-run',
    '<%= config.bin %> maintain',
    '<%= config.bin %> maintain --json --lock-timeout 600',
  ]

  static override flags = {
    'dry-run': Flags.boolean({summary: 'List what each step would do, per table; change nothing.', default: false}),
    ...schedulerRunFlags,
  }

  async run(): Promise<MaintainDocument> {
    const home = this.home
    const settings = maintenanceSettings(home.config.maintenance, `${home.configFile}: maintenance`)
    const dryRun = this.flags['dry-run']
    const bySchedule = this.flags['run-by-scheduler']
    if (bySchedule) await endWithTheScheduler(this.flags, this.home, (line) => this.logToStderr(line))
    // A real run by hand is in the run history as the scheduler's are; a dry run is not a run.
    const history = new RunHistory(bySchedule || dryRun ? null : home.runHistoryFile)
    const document = await withEngine(home, this.warehouseOptions(dryRun ? 'maintain --dry-run' : 'maintain'), async (engine) => {
      const record = history.start({flow: MAINTENANCE.flow, deployment: MAINTENANCE.name, timeframe: '-', trigger: 'manual', warehouse: engine.target})
      try {
        const done = await runMaintenance(engine, settings, {dryRun, auditFile: home.auditFile, nowMicros: this.now()})
        history.finish(record, {state: 'Completed'})
        return done
      } catch (error) {
        history.finish(record, {state: 'Failed', error: errorMessage(error)})
        throw error
      }
    })
    if (!this.jsonEnabled()) this.log(renderMaintenance(document))
    return document
  }
}
