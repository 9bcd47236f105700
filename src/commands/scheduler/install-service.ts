import {Flags} from '@oclif/core'
import {existsSync, writeFileSync} from 'node:fs'
import {resolve} from 'node:path'

import {BaseCommand} from '../../base-command.js'
import {UsageError} from '../../pipeline/errors.js'

export interface InstallServiceResult {
  unit: string
  written: string | null
}

export default class SchedulerInstallService extends BaseCommand<typeof SchedulerInstallService> {
  static override summary = 'Print (or write) a systemd unit that runs the scheduler in the foreground and restarts it on failure.'
  static override description = `The runbook's advice, "monitor serve() with systemd", done: the unit runs
\`k2ops scheduler start --foreground\` for this home, restarts it when it fails, and stops it with SIGTERM (a running flow
gets 60 s to finish). As a user unit: write it to ~/.config/systemd/user/k2ops-scheduler.service, then
\`systemctl --user daemon-reload && systemctl --user enable --now k2ops-scheduler\`.`

  static override examples = [
    '<%= config.bin %> scheduler install-service',
    '<%= config.bin %> scheduler install-service --write ~/.config/systemd/user/k2ops-scheduler.service',
  ]

  static override flags = {
    write: Flags.string({summary: 'Write the unit to this file instead of printing it.'}),
    force: Flags.boolean({summary: 'Overwrite an existing file.', default: false}),
  }

  async run(): Promise<InstallServiceResult> {
    const home = this.home
    const quote = (text: string) => (/[\s"'\\]/.test(text) ? `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"` : text)
    const exec = [process.execPath, resolve(process.argv[1]), 'scheduler', 'start', '--foreground', '--home', home.dir, '--warehouse', home.warehouse].map(quote).join(' ')
    const unit = `[Unit]
Description=k2ops scheduler: OHLCV candle flows for ${home.dir}
After=network-online.target

[Service]
Type=simple
ExecStart=${exec}
Environment=NO_COLOR=1
Restart=on-failure
RestartSec=10
# SIGTERM stops it gracefully: a running flow gets 60 s to finish.
KillSignal=SIGTERM
TimeoutStopSec=90

[Install]
WantedBy=default.target
`
    if (!this.flags.write) {
      if (!this.jsonEnabled()) this.log(unit.trimEnd())
      return {unit, written: null}
    }

    const target = resolve(this.flags.write)
    if (existsSync(target) && !this.flags.force) throw new UsageError(`--write: ${target} exists (pass --force to overwrite it)`, {code: 'exists'})
    writeFileSync(target, unit, {mode: 0o644})
    if (!this.jsonEnabled()) {
      this.log(`Wrote ${target}`)
      this.log('Then: systemctl --user daemon-reload && systemctl --user enable --now k2ops-scheduler   (or the system-wide equivalent)')
    }

    return {unit, written: target}
  }
}
