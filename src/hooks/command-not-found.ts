import {Errors, Hook, toConfiguredId} from '@oclif/core'

import type {ErrorJson} from '../base-command.js'

import {ExitCode} from '../pipeline/errors.js'
import {nearestCommand} from '../parse-errors.js'

/**
 * `k2ops trigr`: says which command was meant and exits 2 (a usage error). Only a person at a
 * terminal is asked "Did you mean trigger?" (by @oclif/plugin-not-found, which answers itself
 * after 10 s); scripts, cron, CI and --json never wait for an answer: they get the suggestion.
 */
const hook: Hook.CommandNotFound = async function (options) {
  const visible = options.config.commands.filter((command) => !command.hidden)
  const ids = [...visible.map((command) => command.id), ...visible.flatMap((command) => command.aliases)]
  const match = nearestCommand(options.id.split(':'), ids.map((id) => id.replaceAll(':', ' ')))
  const typed = match?.typed ?? toConfiguredId(options.id, options.config)
  const nearest = match?.command
  const json = (options.argv ?? []).includes('--json')
  const canAsk = !json && Boolean(process.stdin.isTTY && process.stdout.isTTY) && !process.env.CI
  if (canAsk && nearest) {
    const {default: prompting} = await import('@oclif/plugin-not-found')
    // Its "no" ends in its own exit 127; k2ops keeps one exit code for usage errors.
    return prompting.call({...this, error: () => this.exit(ExitCode.usage)}, options)
  }

  const message = `${typed} is not a ${options.config.bin} command${nearest ? `; did you mean ${nearest}?` : ''} (${options.config.bin} --help lists them)`
  if (json) {
    const error: ErrorJson = {
      error: {code: 'unknown_command', exit: ExitCode.usage, message, suggestions: nearest ? [`${options.config.bin} ${nearest}`] : [`${options.config.bin} --help`]},
    }
    process.stdout.write(`${JSON.stringify(error, null, 2)}\n`)
  } else {
    process.stderr.write(`${options.config.bin}: ${message}\n`)
  }

  throw new Errors.ExitError(ExitCode.usage)
}

export default hook
