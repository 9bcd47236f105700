import {existsSync, readFileSync} from 'node:fs'
import {arch, homedir, platform, release} from 'node:os'
import {join} from 'node:path'

import {EXIT_CODE_DESCRIPTIONS} from '../pipeline/errors.js'
import {helpWidth, loadFormatterModules, RootHelpFormatter} from './formatter.js'

/**
 * `k2ops`, `k2ops --help`, `k2ops help` and `k2ops --version`, answered from package.json and the
 * oclif manifests without loading @oclif/core (whose modules and Config.load are most of the
 * start-up). The text is oclif's, byte for byte: it follows oclif's Help.showRootHelp and K2Help.
 * Whenever anything oclif would take into account is not the plain case (a theme, user plugins,
 * aliases, debug output, WSL, a stale manifest...), it returns undefined and oclif answers.
 */

interface ManifestCommand {
  aliases?: string[]
  description?: string
  hidden?: boolean
  hiddenAliases?: string[]
  id: string
  state?: string
  summary?: string
}

interface Topic {
  description?: string
  hidden?: boolean
  name: string
}

interface PackageJson {
  description?: string
  name: string
  oclif: Record<string, unknown> & {bin?: string; topics?: Record<string, {description?: string; hidden?: boolean; subtopics?: unknown}>}
  version: string
}

// Keys of package.json's "oclif" that this answer follows (the help class is K2Help, whose root help
// adds the exit codes; command_not_found is the only hook, and the root help never runs it): any other
// sends the question to oclif.
const PLAIN_OCLIF_KEYS = new Set(['bin', 'commands', 'dirname', 'helpClass', 'hooks', 'plugins', 'topicSeparator', 'topics'])

export async function rootAnswer(argv: string[], root: string): Promise<string | undefined> {
  const question = argv.length === 0 || argv.join(' ') === '--help' || argv.join(' ') === 'help' ? 'help' : argv.join(' ') === '--version' ? 'version' : undefined
  if (!question || !plainEnvironment()) return undefined
  try {
    const pjson = readJson<PackageJson>(join(root, 'package.json'))
    if (!plainPackage(pjson)) return undefined
    const bin = pjson.oclif.bin ?? pjson.name
    if (!plainHome(bin, (pjson.oclif.dirname as string | undefined) ?? pjson.name)) return undefined
    const userAgent = `${pjson.name}/${pjson.version} ${platform()}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}`
    if (question === 'version') return `${userAgent}\n`
    const plugins = [{pjson, root}, {pjson: readJson<PackageJson>(join(root, 'node_modules/@oclif/plugin-help/package.json')), root: join(root, 'node_modules/@oclif/plugin-help')}]
    const loaded = plugins.map(({pjson, root}) => ({commands: manifestCommands(root, pjson.version), pjson}))
    if (loaded.some(({commands}) => commands === undefined)) return undefined
    const text = rootHelp(pjson, bin, userAgent, loaded as Array<{commands: ManifestCommand[]; pjson: PackageJson}>, import.meta.resolve('@oclif/core'))
    return text?.includes('<%') ? undefined : text
  } catch {
    return undefined
  }
}

function rootHelp(pjson: PackageJson, bin: string, userAgent: string, plugins: Array<{commands: ManifestCommand[]; pjson: PackageJson}>, oclifEntry: string): string | undefined {
  const commands: ManifestCommand[] = []
  const topics = new Map<string, Topic>()
  for (const plugin of plugins) {
    for (const command of plugin.commands) {
      if (command.aliases?.length || command.hiddenAliases?.length || command.state || commands.some((c) => c.id === command.id)) return undefined
      commands.push(command)
    }

    // Config.loadTopics: package.json's topics, then one for each prefix of a visible command's id.
    for (const [name, topic] of Object.entries(plugin.pjson.oclif.topics ?? {})) {
      if (topic.subtopics) return undefined
      const existing = topics.get(name)
      if (existing) {
        existing.description = topic.description || existing.description
        existing.hidden = existing.hidden || topic.hidden
      } else topics.set(name, {description: topic.description, hidden: topic.hidden, name})
    }

    for (const command of impliedTopicOrder(plugin.commands.filter((c) => !c.hidden), topics)) {
      const parts = command.id.split(':')
      for (; parts.length > 0; parts.pop()) {
        const name = parts.join(':')
        if (!topics.has(name)) topics.set(name, {description: command.summary || command.description, name})
      }
    }
  }

  const render = (text: string) => text.replaceAll('<%= config.bin %>', bin)
  const spaced = (id: string) => id.replaceAll(':', pjson.oclif.topicSeparator as string)
  const modules = loadFormatterModules(oclifEntry)
  const help = new RootHelpFormatter(modules, helpWidth())

  const [summary, ...rest] = render(pjson.description ?? '').split('\n')
  const root = [
    summary,
    help.section('VERSION', help.wrap(userAgent)),
    help.section('USAGE', help.wrap(`$ ${bin} [COMMAND]`)),
    rest.length > 0 && rest.join('\n') ? help.section('DESCRIPTION', help.wrap(rest.join('\n'))) : '',
  ].filter(Boolean)

  // Help._topics: a topic is listed when some topic's name contains "<its name>:".
  const allTopics = [...topics.values()]
  const rootTopics = sortedUnique(allTopics.filter((t) => allTopics.some((s) => s.name.includes(`${t.name}:`)) && !t.hidden), (t) => t.name).filter((t) => !t.name.includes(':'))
  const rootCommands = sortedUnique(commands.filter((c) => !c.hidden), (c) => c.id).filter((c) => c.id && !c.id.includes(':'))
  const commandSummary = (c: ManifestCommand) => (c.summary ? render(c.summary.split('\n')[0]) : c.description && render(c.description).split('\n')[0])
  const lines = [root.join('\n\n'), '']
  if (rootTopics.length > 0) {
    const body = help.renderList(rootTopics.map((t) => [spaced(t.name), t.description && render(t.description.split('\n')[0])]), {indentation: 2, spacer: '\n'})
    lines.push(help.section('TOPICS', body), '')
  }

  if (rootCommands.length > 0) {
    const body = help.renderList(rootCommands.map((c) => [spaced(c.id), commandSummary(c) && modules.strip(commandSummary(c) as string)]), {indentation: 2, spacer: '\n'})
    lines.push(help.section('COMMANDS', body), '')
  }

  lines.push(`\n${help.section('EXIT CODES', EXIT_CODE_DESCRIPTIONS.map(([code, text]) => [String(code), text]))}`)
  return `${lines.join('\n')}\n`
}

/**
 * A topic implied by commands (no topic of that name in package.json) takes the description of the
 * first of them in oclif's order, localeCompare. Another order gives the same topics, unless one is
 * not itself a command and holds two commands or more; the first localeCompare costs ~10 ms (ICU's
 * collator), so it is paid only then.
 */
function impliedTopicOrder(visible: ManifestCommand[], topics: Map<string, Topic>): ManifestCommand[] {
  const ids = new Set(visible.map((c) => c.id))
  const prefixes = (id: string) => id.split(':').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join(':'))
  const ambiguous = visible.some((c) => prefixes(c.id).some((p) => !topics.has(p) && !ids.has(p) && visible.filter((o) => o.id.startsWith(`${p}:`)).length > 1))
  // A command's id sorts before the ids it prefixes in both orders.
  return [...visible].sort(ambiguous ? (a, b) => a.id.localeCompare(b.id) : (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** oclif's sortBy (plain < and >) then uniqBy. */
function sortedUnique<T>(items: T[], key: (item: T) => string): T[] {
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
  return sorted.filter((item, i) => sorted.findIndex((other) => key(other) === key(item)) === i)
}

function manifestCommands(root: string, version: string): ManifestCommand[] | undefined {
  const path = join(root, 'oclif.manifest.json')
  if (!existsSync(path)) return undefined
  const manifest = readJson<{commands: Record<string, ManifestCommand>; version: string}>(path)
  if (manifest.version.split('-')[0] !== version.split('-')[0]) return undefined
  return Object.values(manifest.commands)
}

/** Debug output, performance reports, other columns or directories: oclif's to handle. */
function plainEnvironment(): boolean {
  if (process.env.DEBUG || (globalThis as {oclif?: unknown}).oclif) return false
  if (Object.keys(process.env).some((key) => key.startsWith('OCLIF_') && !['OCLIF_COLUMNS', 'OCLIF_DISABLE_ENGINE_WARNING'].includes(key))) return false
  // is-wsl: oclif names the platform "wsl" there.
  if (platform() !== 'linux') return platform() !== 'win32'
  if (release().toLowerCase().includes('microsoft')) return false
  try {
    return !readFileSync('/proc/version', 'utf8').toLowerCase().includes('microsoft')
  } catch {
    return true
  }
}

function plainPackage(pjson: PackageJson): boolean {
  const oclif = pjson.oclif ?? {}
  const plugins = oclif.plugins as unknown
  return (
    Object.keys(oclif).every((key) => PLAIN_OCLIF_KEYS.has(key)) &&
    oclif.helpClass === './dist/help.js' &&
    Object.keys(oclif.hooks ?? {}).every((hook) => hook === 'command_not_found') &&
    oclif.topicSeparator === ' ' &&
    typeof oclif.commands === 'string' &&
    Array.isArray(plugins) &&
    plugins.length === 1 &&
    plugins[0] === '@oclif/plugin-help'
  )
}

/** No user theme, no user-installed plugins, no scoped debug or performance switch. */
function plainHome(bin: string, dirname: string): boolean {
  const scoped = (key: string) => process.env[`${bin.replaceAll('@', '').replaceAll(/[/-]/g, '_')}_${key}`.toUpperCase()]
  if (['DEBUG', 'PERFORMANCE', 'CONFIG_DIR', 'DATA_DIR', 'DISABLE_THEME'].some((key) => scoped(key))) return false
  const base = (category: 'config' | 'data') => process.env[`XDG_${category.toUpperCase()}_HOME`] || join(process.env.HOME || homedir(), category === 'data' ? '.local/share' : '.config')
  return !existsSync(join(base('config'), dirname, 'theme.json')) && !existsSync(join(base('data'), dirname, 'package.json'))
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T
}
