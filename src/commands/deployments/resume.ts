import {SetPausedCommand} from './pause.js'

export default class Resume extends SetPausedCommand {
  static override summary = 'Resume a paused deployment: the scheduler runs its flow on its cron again.'
  static override description = `Writes "paused": false for the deployment into <home>/config.json, keeping everything else in the file. A running scheduler re-reads the config and picks it up at its next decision. Resuming an active deployment changes nothing and exits 0.`

  static override examples = [
    '<%= config.bin %> deployments resume ohlcv-1m-scheduled',
    '<%= config.bin %> deployments resume 1h --home ~/k2ops --json',
  ]

  protected readonly paused = false
}
