import type {GenericSchema, InferOutput} from 'valibot'

import {existsSync, readFileSync, renameSync, writeFileSync} from 'node:fs'

import {CONFIG_SCHEMA, ConfigIssue, ENGINE, FileConfig, LOCK_TIMEOUT, MEMORY_LIMIT, THREADS, isUnknownKey, validate} from './config-schema.js'
import {UsageError} from './errors.js'

/** `<home>/config.json`, checked against the schema: every command sees a valid configuration or exits 2. */
export function readConfigFile(file: string): FileConfig {
  if (!existsSync(file)) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new UsageError(`${file}: not valid JSON (${(error as Error).message})`, {code: 'bad_config'})
  }

  return checked(CONFIG_SCHEMA, parsed, (path) => (path ? `${file}: ${path}` : file))
}

/** Changes the config file (made if missing) by `change`, keeping everything else in it; written whole, by rename. */
export function updateConfigFile(file: string, change: (config: Record<string, unknown>) => void): void {
  const config: Record<string, unknown> = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {}
  change(config)
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, JSON.stringify(config, null, 2) + '\n', {mode: 0o600})
  renameSync(temporary, file)
}

/**
 * One section of the configuration (`where` is e.g. `<file>: deployments`), for the modules that
 * take their section on its own; the rules are the schema's, so this agrees with readConfigFile.
 */
export function checkedSection<S extends GenericSchema>(schema: S, value: unknown, where: string): InferOutput<S> {
  return checked(schema, value ?? {}, (path) => (path ? `${where}.${path}` : where))
}

/** What the K2OPS_* variables say of the settings they share with the config file. */
export interface EnvSettings {
  lockTimeoutSeconds?: number
  threads?: number
  memoryLimit?: string
  engine?: FileConfig['engine']
}

/** The variables that feed settings, under the config file's rules; a bad one names the variable. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): EnvSettings {
  return {
    lockTimeoutSeconds: fromEnv(env, 'K2OPS_LOCK_TIMEOUT', LOCK_TIMEOUT, true),
    threads: fromEnv(env, 'K2OPS_THREADS', THREADS, true),
    memoryLimit: fromEnv(env, 'K2OPS_MEMORY_LIMIT', MEMORY_LIMIT, false),
    engine: fromEnv(env, 'K2OPS_ENGINE', ENGINE, false),
  }
}

/** A flag's value under the rule of the setting it overrides (`--lock-timeout` and lockTimeoutSeconds). */
export function checkedLockTimeout(seconds: number | undefined, flag: string): number | undefined {
  if (seconds === undefined) return undefined
  return checked(LOCK_TIMEOUT, seconds, () => flag)
}

function fromEnv<S extends GenericSchema>(env: NodeJS.ProcessEnv, name: string, schema: S, numeric: boolean): InferOutput<S> | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  // A variable is text: a number-looking one is checked as that number, anything else as the text it is.
  const value = numeric && /^\s*[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?\s*$/i.test(raw) ? Number(raw) : raw
  const result = validate(schema, value)
  if (!result.issues) return result.output
  throw new UsageError(`${name}: ${JSON.stringify(raw)} is not allowed: ${result.issues[0].message}`, {code: 'bad_config'})
}

function checked<S extends GenericSchema>(schema: S, value: unknown, at: (path: string) => string): InferOutput<S> {
  const result = validate(schema, value)
  if (!result.issues) return result.output
  const [first, ...others] = result.issues
  const more = others.length === 0 ? '' : ` (and ${others.length} more ${others.length === 1 ? 'problem' : 'problems'})`
  throw new UsageError(`${describeIssue(first, at)}${more}`, {code: 'bad_config'})
}

/** One line: where, the value, what is allowed; or, for a key the schema does not know, the nearest one. */
function describeIssue(issue: ConfigIssue, at: (path: string) => string): string {
  const path = (issue.path ?? []).map((item) => String(item.key)).join('.')
  if (isUnknownKey(issue)) return `${at(path)}: ${issue.message}`
  return `${at(path)}: ${shown(issue.input)} is not allowed: ${issue.message}`
}

function shown(value: unknown): string {
  // JSON reads 1e400 as Infinity, which JSON.stringify would print as null.
  if (typeof value === 'number') return String(value)
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}
