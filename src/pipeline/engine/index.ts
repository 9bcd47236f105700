import type {Home} from '../home.js'
import type {Engine, EngineKind, EngineOpenOptions} from './engine.js'

import {UsageError} from '../errors.js'

/**
 * Which engine a home's data lives on. DuckDB, the embedded default, until the config names
 * another.
 */
export function engineKind(_home: Home): EngineKind {
  return 'duckdb'
}

/**
 * Opens the home's engine. Each engine's module is loaded here, on first use, so that commands
 * that never touch the data (`--help`, `scheduler status`) never load DuckDB or a Spark client.
 */
export async function openEngine(home: Home, options: EngineOpenOptions): Promise<Engine> {
  const kind = engineKind(home)
  if (kind === 'duckdb') {
    const {DuckdbEngine} = await import('./duckdb/duckdb-engine.js')
    return DuckdbEngine.open(home.warehouse, options)
  }

  throw new UsageError('the Spark engine is not installed in this build', {code: 'engine_unavailable'})
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
