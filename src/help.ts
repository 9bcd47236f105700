import {Command, Help} from '@oclif/core'

import {EXIT_CODE_DESCRIPTIONS} from './pipeline/errors.js'

/** oclif's help, plus the exit codes that scripts and cron depend on. */
export default class K2Help extends Help {
  protected override formatCommand(command: Command.Loadable): string {
    return `${super.formatCommand(command)}\n\n${this.exitCodes()}`
  }

  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    this.log(`\n${this.exitCodes()}`)
  }

  private exitCodes(): string {
    return this.section('EXIT CODES', EXIT_CODE_DESCRIPTIONS.map(([code, text]) => [String(code), text]))
  }
}
