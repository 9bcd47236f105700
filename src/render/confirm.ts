import {UsageError} from '../pipeline/errors.js'

/**
 * The confirmation of a destructive command (retention, recover): asked on a terminal, `--yes`
 * elsewhere. Checked before any work, so cron learns at once that it must pass --yes.
 */
export function requireConfirmation(options: {yes: boolean; dryRun: boolean; json: boolean}): void {
  if (options.dryRun || options.yes || canPrompt(options.json)) return
  throw new UsageError(onTerminal() ? 'refusing: --json cannot ask for confirmation; pass --yes' : 'refusing: not a terminal; pass --yes', {
    code: 'confirmation_required',
    hint: 'See what it would do first: the same command with --dry-run.',
  })
}

function onTerminal(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY)
}

function canPrompt(json: boolean): boolean {
  return onTerminal() && !json
}

/** A y/N question on the terminal (stderr: stdout carries results only). Ctrl-C or end of input is no. */
export async function confirm(question: string): Promise<boolean> {
  const {createInterface} = await import('node:readline/promises')
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('SIGINT', () => resolve(''))
      rl.once('close', () => resolve(''))
      rl.question(`${question} [y/N] `).then(resolve, () => resolve(''))
    })
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
