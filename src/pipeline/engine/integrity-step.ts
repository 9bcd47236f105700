import type {Home} from '../home.js'

import {ExitCode, K2Error} from '../errors.js'

/** How recover --full names its engine check, and what it tells people to do when the check fails. */
export interface IntegrityStepText {
  title: string
  /** What to do about `error` (the step adds "then run k2ops recover --full again"). */
  next(error: Error): string
}

/**
 * Each engine's integrity check as people read it: DuckDB checksums the blocks of one file; Spark
 * checks Java and its installation, the catalog, every table and the files of its current snapshot.
 */
export function integrityStepText(home: Home): IntegrityStepText {
  if (home.engine === 'spark') {
    return {
      title: 'Check Spark and the catalog: Java, the Spark installation, every table loadable, its data and delete files present',
      // The install check and the integrity check each say what to do in their hint.
      next: (error) => (error instanceof K2Error && error.hint ? lowerFirst(error.hint.replace(/\.$/, '')) : `check ${home.logsDir}/spark-driver.log and the catalog settings in ${home.configFile}`),
    }
  }

  return {
    title: 'Check the warehouse: open, checkpoint, read every block',
    next: () => `restore ${home.warehouse} from a backup, or move it aside and rebuild it (k2ops init, k2ops ingest TAPES..., k2ops backfill --timeframe all --from FIRST_DAY)`,
  }
}

/** A busy target is not damage: the step says to wait for its holder instead. */
export function isBusy(error: Error): boolean {
  return error instanceof K2Error && error.exit === ExitCode.busy
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}
