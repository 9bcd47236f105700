import {existsSync} from 'node:fs'

import {BaseCommand} from '../base-command.js'
import {SCHEMA_TABLES} from '../pipeline/schema.js'
import {withEngine} from '../pipeline/engine/index.js'

export interface InitResult {
  home: string
  warehouse: string
  created: boolean
  tables: string[]
}

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'Create the private home and an empty warehouse with the candle schema.'
  static override description = 'Safe to rerun: existing tables and data are left as they are.'
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --home /srv/k2ops', '<%= config.bin %> init --warehouse /data/candles.duckdb --json']

  async run(): Promise<InitResult> {
    const {dir, warehouse} = this.home
    const created = !existsSync(warehouse)
    await withEngine(this.home, this.warehouseOptions('init', true), async () => {})
    const result = {home: dir, warehouse, created, tables: SCHEMA_TABLES}
    if (!this.jsonEnabled()) {
      this.log(`${created ? 'Created' : 'Checked'} warehouse ${warehouse}`)
      this.log(`Home ${dir} (private, 0700)`)
      this.log(`Tables: ${SCHEMA_TABLES.join(', ')}`)
      this.log('Next: k2ops ingest FILE...  then  k2ops trigger all')
    }

    return result
  }
}
