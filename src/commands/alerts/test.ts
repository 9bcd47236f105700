import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {ExitCode} from '../../pipeline/errors.js'
import {type TestResult, sendTestAlerts} from '../../pipeline/alerts/alerts-overview.js'
import {renderTestResults} from '../../render/alerts.js'

export default class AlertsTest extends BaseCommand<typeof AlertsTest> {
  static override summary = 'Send a test alert to every target, or to the one named, and say whether it arrived.'
  static override description = `Sends from this process (the scheduler need not run) with each target's own timeout and retries, and records every attempt in <home>/state/alerts.jsonl. PagerDuty gets a trigger and, right after, its resolve, so no incident stays open. Exit 0 when every target took it, 1 when one did not, 2 for an unknown target or none configured.`

  static override examples = ['<%= config.bin %> alerts test', '<%= config.bin %> alerts test oncall --once', '<%= config.bin %> alerts test --json']

  static override args = {
    target: Args.string({description: 'The target to test (its name in "alerts"); all of them when left out.'}),
  }

  static override flags = {
    once: Flags.boolean({description: 'One attempt per target, without the retries.'}),
  }

  async run(): Promise<{results: TestResult[]}> {
    const results = await sendTestAlerts(this.home, {target: this.args.target, once: this.flags.once, now: () => this.now() / 1000})
    if (!this.jsonEnabled()) this.log(renderTestResults(results))
    if (results.some((result) => !result.ok)) process.exitCode = ExitCode.failed
    return {results}
  }
}
