import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {RunHistory, RunRecord} from '../../pipeline/run-history.js'
import {findRun} from '../../pipeline/run-lookup.js'
import {renderRunDetail} from '../../render/run-detail.js'

export default class RunsShow extends BaseCommand<typeof RunsShow> {
  static override summary = 'Print one recorded run in full: every field, the whole error text, who cancelled it.'
  static override description = 'Reads the run history (<home>/state/runs.jsonl) only, never the warehouse. The id may be shortened to its first 8 characters, as k2ops runs shows it.'

  static override examples = ['<%= config.bin %> runs show 3f2a9c1e', "<%= config.bin %> runs show 3f2a9c1e --json | jq -r '.run.error'"]

  static override args = {
    id: Args.string({description: 'The run id, or its first 8 characters or more.', required: true}),
  }

  async run(): Promise<{run: RunRecord}> {
    const run = findRun(new RunHistory(this.home.runHistoryFile), this.args.id)
    if (!this.jsonEnabled()) this.log(renderRunDetail(run))
    return {run}
  }
}
