/**
 * The path DuckDB's read_parquet reads a tape through: exactly the one file, whatever characters
 * its name holds.
 */
import {existsSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {resolve} from 'node:path'

/** A path under which DuckDB reads exactly one file, and what releases it. */
export interface LiteralPath {
  path: string
  close(): Promise<void>
}

/**
 * DuckDB's read_parquet takes every path as a glob (`b[12].parquet` reads b1.parquet, `a*.parquet`
 * every match), and a list of paths too. The file is opened here and DuckDB, which runs in this
 * process, reads it through /dev/fd/N: no glob character, and exactly the file that was opened.
 * Where /dev/fd is missing, the glob characters of the absolute path are escaped as one-character
 * classes (`[[]`, `[*]`, `[?]`); DuckDB's pattern matcher has no escape for a backslash there.
 */
export async function openLiteralPath(file: string): Promise<LiteralPath> {
  const handle = await open(file, 'r')
  const viaFd = `/dev/fd/${handle.fd}`
  const path = existsSync(viaFd) ? viaFd : resolve(file).replaceAll(/[[*?]/g, (c) => `[${c}]`)
  return {path, close: () => handle.close()}
}
