import {basename} from 'node:path'

import {UsageError} from '../errors.js'

export interface SchedulerUnitOptions {
  /** node, and bin/run.js of this k2ops. */
  node: string
  bin: string
  home: string
  warehouse: string
}

/** The unit name systemd gives a unit file: its file name, which must end in .service. */
export const DEFAULT_UNIT_NAME = 'k2ops-scheduler.service'

/**
 * A systemd service unit that runs `k2ops scheduler start --foreground` for one home. Paths are
 * written so that systemd reads back exactly them (systemd.syntax(7) quoting, systemd.unit(5)
 * specifiers, systemd.service(5) variable expansion); a path no unit line can hold is refused.
 */
export function schedulerUnit(options: SchedulerUnitOptions): string {
  const paths = {node: options.node, 'k2ops bin': options.bin, home: options.home, warehouse: options.warehouse}
  for (const [what, path] of Object.entries(paths)) refuseInexpressible(what, path)
  const exec = [options.node, options.bin, 'scheduler', 'start', '--foreground', '--home', options.home, '--warehouse', options.warehouse].map(execWord).join(' ')
  return `[Unit]
Description=k2ops scheduler: OHLCV candle flows (home ${escapeSpecifiers(options.home)})
After=network-online.target

[Service]
Type=simple
ExecStart=${exec}
Environment=NO_COLOR=1
Restart=on-failure
RestartSec=10
# SIGTERM stops it gracefully: a running flow gets 60 s to finish. Only the daemon gets it (mixed):
# it stops its flow process itself; whatever is left at the stop timeout is killed.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=90

[Install]
WantedBy=default.target
`
}

/** The unit's name as systemd will know it from the file it is written to. */
export function unitNameOf(file: string): string {
  const name = basename(file)
  // systemd.unit(5): a unit name is made of ASCII letters, digits, ":-_.\" and "@", and its suffix is its type.
  if (!/^[\w:.\\@-]+\.service$/.test(name)) {
    throw new UsageError(`--write: ${file}: systemd loads a service from a file named NAME.service (letters, digits, ":-_.\\@")`, {code: 'bad_unit_name'})
  }

  return name
}

/** Newlines and other control characters cannot be written in a unit line (a newline would start a new setting). */
function refuseInexpressible(what: string, path: string): void {
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001F\u007F]/.exec(path)
  if (control) {
    const code = `U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`
    throw new UsageError(`install-service: the ${what} path ${JSON.stringify(path)} holds a control character (${code}) that a systemd unit cannot express`, {code: 'inexpressible_path'})
  }
}

/** `%` starts a specifier everywhere in a unit file. */
function escapeSpecifiers(text: string): string {
  return text.replaceAll('%', '%%')
}

/**
 * One word of ExecStart=: specifiers (`%%`) and variable expansion (`$$`) are escaped in every
 * word; a word with anything beyond plain path characters is double-quoted, with `\` and `"`
 * backslash-escaped inside the quotes.
 */
function execWord(word: string): string {
  const escaped = escapeSpecifiers(word).replaceAll('$', '$$$$')
  if (/^[\w/.,:+=@%$-]+$/.test(word)) return escaped
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}
