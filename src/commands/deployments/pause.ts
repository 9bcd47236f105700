import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {findDeployment, loadDeployments, nextRunTimes, setDeploymentPaused} from '../../pipeline/deployments.js'
import {formatMillis} from '../../pipeline/time.js'

export interface PauseResult {
  deployment: string
  flow: string
  /** null: the maintenance deployment. */
  timeframe: string | null
  paused: boolean
  /** False when the deployment already was so: nothing was written. */
  changed: boolean
  configFile: string
  /** The next tick after now, ISO-8601; null while paused. */
  nextRun: string | null
}

/** Pause and resume: write `paused` for one deployment into <home>/config.json and say what changed. */
export abstract class SetPausedCommand extends BaseCommand<typeof SetPausedCommand> {
  static override args = {
    name: Args.string({description: 'Deployment name (ohlcv-1m-scheduled, maintain-scheduled), its timeframe (1m) or flow (OHLCV-1m-Pipeline), or maintain.', required: true}),
  }

  protected abstract readonly paused: boolean

  async run(): Promise<PauseResult> {
    const home = this.home
    // Loading validates the whole config first: a broken file is reported, not written over.
    const deployment = findDeployment(loadDeployments(home.config.deployments, `${home.configFile}: deployments`, home.engine), this.args.name)
    const changed = deployment.paused !== this.paused
    if (changed) setDeploymentPaused(home.configFile, deployment.name, this.paused)
    const next = this.paused ? undefined : nextRunTimes(deployment.cron, Math.floor(this.now() / 1000))[0]
    const result: PauseResult = {
      deployment: deployment.name,
      flow: deployment.flow,
      timeframe: deployment.timeframe,
      paused: this.paused,
      changed,
      configFile: home.configFile,
      nextRun: next === undefined ? null : formatMillis(next),
    }
    if (!this.jsonEnabled()) this.display(result)
    return result
  }

  private display(result: PauseResult): void {
    const nextRun = result.nextRun === null ? '' : ` Next run ${result.nextRun}.`
    if (!result.changed) {
      this.log(`${result.deployment} is already ${result.paused ? 'paused' : 'active (not paused)'}; nothing changed.${nextRun}`)
      return
    }

    const what = result.paused
      ? `Paused ${result.deployment} (${result.flow}): no scheduled runs until \`k2ops deployments resume ${result.timeframe ?? 'maintain'}\`.`
      : `Resumed ${result.deployment} (${result.flow}).${nextRun}`
    this.log(what)
    this.log(`Written to ${result.configFile}; a running scheduler picks it up at its next decision (it re-reads the config).`)
  }
}

export default class Pause extends SetPausedCommand {
  static override summary = 'Pause a deployment: the scheduler starts no more scheduled runs of its flow.'
  static override description = `Writes "paused": true for the deployment into <home>/config.json, keeping everything else in the file. A running scheduler re-reads the config and picks it up at its next decision. Pausing a paused deployment changes nothing and exits 0. k2ops trigger still runs the flow by hand.`

  static override examples = [
    '<%= config.bin %> deployments pause ohlcv-1m-scheduled',
    '<%= config.bin %> deployments pause 1h --home ~/k2ops --json',
  ]

  protected readonly paused = true
}
