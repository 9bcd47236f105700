import type {Home} from '../home.js'
import type {Engine, EngineKind, EngineOpenOptions} from './engine.js'
import type {TapeValidator} from './spark/ingest.js'

import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {sparkTarget} from './spark/target-lock.js'

/** Which engine a home's data lives on: DuckDB, the embedded default, unless the config (or --engine, K2OPS_ENGINE) names Spark. */
export function engineKind(home: Home): EngineKind {
  return home.engine
}

/**
 * What the home's engine works on, as run records and messages name it (Engine.target), known
 * without opening the engine: the warehouse file, or the Spark target `catalog.namespace`.
 */
export function engineTarget(home: Home): string {
  return engineKind(home) === 'spark' ? sparkTarget(home).name : home.warehouse
}

/**
 * Where the home's data lie on this machine's file system, for its free space: the warehouse file's
 * folder, or a local Iceberg warehouse (the home when the catalog's files are elsewhere).
 */
export function storageFolder(home: Home): string {
  if (engineKind(home) !== 'spark') return dirname(home.warehouse)
  const location = home.spark.catalog.warehouse
  return location?.startsWith('file:') ? fileURLToPath(location.startsWith('file://') ? location : `file://${location.slice('file:'.length)}`) : home.dir
}

/**
 * The bytes of a warehouse that need no open engine (its file and write-ahead log, read without a
 * lock), or undefined when only an open engine can tell (an Iceberg catalog).
 */
export function storageAtRest(home: Home): number | undefined {
  if (engineKind(home) === 'spark' || !existsSync(home.warehouse)) return undefined
  return statSync(home.warehouse).size + (existsSync(`${home.warehouse}.wal`) ? statSync(`${home.warehouse}.wal`).size : 0)
}

/**
 * Opens the home's engine. Each engine's module is loaded here, on first use, so that commands
 * that never touch the data (`--help`, `scheduler status`) never load DuckDB or a Spark client.
 */
export async function openEngine(home: Home, options: EngineOpenOptions): Promise<Engine> {
  if (engineKind(home) === 'spark') {
    const {openSparkEngine} = await import('./spark/index.js')
    return openSparkEngine(home, options, embeddedValidator(options))
  }

  const {DuckdbEngine} = await import('./duckdb/duckdb-engine.js')
  return DuckdbEngine.open(home.warehouse, options)
}

/** Opens the engine, runs `work`, and always closes, so the target is free for the next command. */
export async function withEngine<T>(home: Home, options: EngineOpenOptions, work: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await openEngine(home, options)
  try {
    return await work(engine)
  } finally {
    await engine.close()
  }
}

/**
 * How a Spark ingest validates a tape: with the embedded engine's strict readers, in a private
 * scratch warehouse of its own, so that Spark refuses and accepts exactly what DuckDB does, with the
 * same messages.
 */
function embeddedValidator(options: EngineOpenOptions): TapeValidator {
  return async (file, ingest, parquetOut) => {
    const {DuckdbEngine} = await import('./duckdb/duckdb-engine.js')
    const scratch = mkdtempSync(join(tmpdir(), 'k2ops-validate-'))
    try {
      const engine = await DuckdbEngine.open(join(scratch, 'validate.duckdb'), {...options, operation: `validate ${file}`, create: true, readOnly: false})
      try {
        return await engine.exportValidated(file, ingest, parquetOut)
      } finally {
        await engine.close()
      }
    } finally {
      rmSync(scratch, {recursive: true, force: true})
    }
  }
}
