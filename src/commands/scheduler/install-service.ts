import {Flags} from '@oclif/core'
import {existsSync, writeFileSync} from 'node:fs'
import {resolve} from 'node:path'

import {BaseCommand} from '../../base-command.js'
import {UsageError} from '../../pipeline/errors.js'
import {DEFAULT_UNIT_NAME, schedulerUnit, unitNameOf} from '../../pipeline/scheduler/systemd-unit.js'

export interface InstallServiceResult {
  unit: string
  /** The unit's name as systemd knows it: the written file's name. */
  name: string
  written: string | null
}

export default class SchedulerInstallService extends BaseCommand<typeof SchedulerInstallService> {
  static override summary = 'Print (or write) a systemd unit that runs the scheduler in the foreground and restarts it on failure.'
  static override description = `The runbook's advice, "monitor serve() with systemd", done: the unit runs
\`k2ops scheduler start --foreground\` for this home, restarts it when it fails, and stops it with SIGTERM (a running flow
gets 60 s to finish). As a user unit: write it to ~/.config/systemd/user/k2ops-scheduler.service, then
\`systemctl --user daemon-reload && systemctl --user enable --now k2ops-scheduler.service\` (the unit is named as its file).
Paths are quoted and escaped for systemd; a path with a newline or another control character is refused (exit 2).`

  static override examples = [
    '<%= config.bin %> scheduler install-service',
    '<%= config.bin %> scheduler install-service --write ~/.config/systemd/user/k2ops-scheduler.service',
  ]

  static override flags = {
    write: Flags.string({summary: 'Write the unit to this file (NAME.service) instead of printing it.'}),
    force: Flags.boolean({summary: 'Overwrite an existing file.', default: false}),
  }

  async run(): Promise<InstallServiceResult> {
    const home = this.home
    const unit = schedulerUnit({node: process.execPath, bin: resolve(process.argv[1]), home: home.dir, warehouse: home.warehouse})
    if (!this.flags.write) {
      if (!this.jsonEnabled()) this.log(unit.trimEnd())
      return {unit, name: DEFAULT_UNIT_NAME, written: null}
    }

    const target = resolve(this.flags.write)
    const name = unitNameOf(target)
    if (existsSync(target) && !this.flags.force) throw new UsageError(`--write: ${target} exists (pass --force to overwrite it)`, {code: 'exists'})
    writeFileSync(target, unit, {mode: 0o644})
    if (!this.jsonEnabled()) {
      this.log(`Wrote ${target}`)
      this.log(`Then: systemctl --user daemon-reload && systemctl --user enable --now ${/^[\w:.@-]+$/.test(name) ? name : `'${name}'`}   (or the system-wide equivalent)`)
    }

    return {unit, name, written: target}
  }
}
