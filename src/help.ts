import {Command, Help} from '@oclif/core'

import {EXIT_CODE_DESCRIPTIONS} from './pipeline/errors.js'

/** oclif's help, plus the exit codes that scripts and cron depend on. */
export default class K2Help extends Help {
  /**
   * `k2ops trigr --help` (and `k2ops help trigr`): oclif's help says only "Command trigr not found."
   * and never runs the command_not_found hook, so the typo gets the same suggestion as `k2ops trigr`.
   */
  override async showHelp(argv: string[]): Promise<void> {
    const id = this.unknownSubject(argv)
    if (id) {
      const result = await this.config.runHook('command_not_found', {argv, id})
      if (result.failures[0]) throw result.failures[0].error
    }

    await super.showHelp(argv)
  }

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

  /**
   * The words before the first flag (other than --help), as a command id, when they name no topic
   * and no command starts them (`trigger 1m` is the command trigger; `health dayly` is a typo).
   */
  private unknownSubject(argv: string[]): string | undefined {
    const words: string[] = []
    for (const arg of argv) {
      if (arg === '--help' || (words.length === 0 && arg === 'help')) continue
      if (arg.startsWith('-')) break
      words.push(arg)
    }

    if (words.length === 0 || this.config.findTopic(words.join(':'))) return undefined
    const command = words.some((_, i) => this.config.findCommand(words.slice(0, i + 1).join(':')) !== undefined)
    return command ? undefined : words.join(':')
  }
}
