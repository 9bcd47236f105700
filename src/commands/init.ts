import {Flags} from '@oclif/core'
import {existsSync} from 'node:fs'

import type {SchemaChange} from '../pipeline/engine/engine.js'

import {BaseCommand} from '../base-command.js'
import {updateConfigFile} from '../pipeline/config-file.js'
import {withEngine} from '../pipeline/engine/index.js'
import {SCHEMA_TABLES} from '../pipeline/schema.js'
import {renderSchemaChanges} from '../render/schema.js'

export interface InitResult {
  home: string
  engine: 'duckdb' | 'spark'
  /** The warehouse file, or the Spark target (catalog.namespace). */
  warehouse: string
  created: boolean
  /** The tables k2ops keeps there. */
  tables: string[]
  dryRun: boolean
  /** What init did (or, with --dry-run, would do) to each table. */
  schema: SchemaChange[]
  /** The engine init wrote into config.json (a flag or K2OPS_ENGINE chose one config.json did not name), so that the home's later commands use it. */
  recordedEngine: 'spark' | null
}

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'Create the private home and the warehouse tables (DuckDB file, or Iceberg tables on Spark).'
  static override description = `Safe to rerun: existing tables and data are left as they are. On the Spark engine, tables that are already there (the original platform's, for one) are adopted: every column k2ops needs is checked, volume and quantity are widened to DECIMAL(38,8) by Iceberg schema evolution, and a format-version 1 table is upgraded to 2. On both engines, candle tables made before the kline columns (quote_volume, taker_buy_volume, taker_buy_quote_volume) get them, and init names the backfill that fills them for the candles built before. --dry-run shows what would be created or changed, and changes nothing.`
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --home /srv/k2ops',
    '<%= config.bin %> init --engine spark --dry-run',
    '<%= config.bin %> init --warehouse /data/candles.duckdb --json',
  ]

  static override flags = {
    'dry-run': Flags.boolean({summary: 'Show what init would create or change; change nothing.', default: false}),
  }

  async run(): Promise<InitResult> {
    const dryRun = this.flags['dry-run']
    const {dir, warehouse} = this.home
    const spark = this.home.engine === 'spark'
    const missingFile = !spark && !existsSync(warehouse)
    const schema =
      missingFile && dryRun
        ? SCHEMA_TABLES.map((table): SchemaChange => ({table, action: 'created', changes: []}))
        : await withEngine(this.home, this.warehouseOptions(dryRun ? 'init --dry-run' : 'init', spark || (!dryRun && missingFile)), async (engine) =>
            missingFile ? SCHEMA_TABLES.map((table): SchemaChange => ({table, action: 'created', changes: []})) : engine.ensureSchema({dryRun}),
          )
    const target = spark ? `${this.home.spark.catalog.name}.${this.home.spark.namespace}` : warehouse
    // A home made on Spark by --engine or K2OPS_ENGINE stays a Spark home for the commands that name neither.
    const recordedEngine = spark && !dryRun && this.home.config.engine === undefined ? 'spark' : null
    if (recordedEngine) updateConfigFile(this.home.configFile, (config) => void (config.engine = recordedEngine))
    const result: InitResult = {home: dir, warehouse: target, created: schema.some((t) => t.action === 'created'), tables: schema.map((t) => t.table), engine: this.home.engine, dryRun, schema, recordedEngine}
    if (!this.jsonEnabled()) {
      this.log(renderSchemaChanges(result))
      this.log(`Home ${dir} (private, 0700)`)
      if (recordedEngine) this.log(`Engine spark recorded in ${this.home.configFile}: this home's commands use Spark without --engine`)
      const fills = [...new Set(schema.flatMap((t) => (t.fill ? [t.fill] : [])))]
      // Columns added to tables with rows: what fills them for the rows stored before.
      if (fills.length > 0) this.log(`Next: ${fills.join('; ')} fills the added columns of the candles built before${dryRun ? ' (after init without --dry-run)' : ''}`)
      else if (!dryRun) this.log('Next: k2ops ingest FILE...  then  k2ops trigger all')
    }

    return result
  }
}
