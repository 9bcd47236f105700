import type {Home} from '../home.js'

// The engine's processes that outlive a command: Spark keeps a warm driver per target between
// commands (a cold start costs seconds); the embedded DuckDB engine has none. The scheduler shows
// them and stops them with itself. Spark's module is loaded only for a home on Spark.

/** A warm driver that is up, as its note file tells. */
export interface WarmDriver {
  pid: number
  /** `iceberg.market_data` */
  target: string
  master: string
  startedAt: string
  /** Its socket is there: it takes requests (false: starting, or stopping). */
  listening: boolean
}

/** What stopping the home's warm drivers did. */
export interface WarmDriversStop {
  stopped: number
  /** The pids of the drivers that were up. */
  pids: number[]
  /** Drivers left up because a command works on the target now (pids). */
  leftRunning: number[]
  inUseBy?: {pid: number; operation: string}
}

/** The home's warm drivers that are up; undefined when its engine has none (DuckDB). */
export async function warmDrivers(home: Home): Promise<WarmDriver[] | undefined> {
  if (home.engine !== 'spark') return undefined
  const {listWarmDrivers} = await import('./spark/warm-drivers.js')
  return listWarmDrivers(home)
}

/** Stops the home's warm drivers; undefined when its engine has none (DuckDB). */
export async function stopWarmDrivers(home: Home): Promise<WarmDriversStop | undefined> {
  if (home.engine !== 'spark') return undefined
  const {stopHomeDrivers} = await import('./spark/warm-drivers.js')
  return stopHomeDrivers(home)
}
