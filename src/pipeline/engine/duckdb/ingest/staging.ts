/**
 * The TEMP staging table of one CSV ingest. Accepted lines are appended as text with the DuckDB
 * appender, one block of lines (LF-separated, under 4 KB) per appended row: each appender call
 * costs about 0.5 µs, so one value per column per trade made the appender the largest cost.
 * With each block go its lines' timestamp range (lo, hi) and count (n): a read of a timestamp
 * range splits only the blocks that can hold it (`linesSql(lo, hi)`); `rn` keeps the file order.
 * Each block also keeps the file line numbers of its lines (its first line's, and the whole list
 * only when a skipped line breaks the run), for messages about a staged row (`lineOf`).
 * Temp tables live in DuckDB's temp storage and spill past memory_limit; ingestFile drops the
 * table after each file.
 */
import type {DuckDBAppender} from '@duckdb/node-api'

import type {Warehouse} from '../warehouse.js'

let counter = 0

/** Flush the appender after about this much text (its own buffer is not bounded by memory_limit). */
const FLUSH_CHARS = 16 << 20

/** rn = block × BLOCK_SPAN + line in block; a block (about 4 KB) holds far fewer lines. */
const BLOCK_SPAN = 4_194_304

export class Staging {
  private appender?: DuckDBAppender
  private unflushedChars = 0
  rows = 0

  private constructor(
    private readonly warehouse: Warehouse,
    /** Bare name inside the temp catalog. */
    readonly name: string,
  ) {}

  /** Qualified name for SQL. */
  get table(): string {
    return `temp.main.${this.name}`
  }

  /** An empty staging table for the appender. */
  static async create(warehouse: Warehouse): Promise<Staging> {
    counter += 1
    const name = `k2ops_ingest_stage_${process.pid}_${counter}`
    await warehouse.run(`CREATE OR REPLACE TEMP TABLE ${name} (block VARCHAR, lo BIGINT, hi BIGINT, n INTEGER, first_line BIGINT, line_numbers VARCHAR)`)
    return new Staging(warehouse, name)
  }

  async open(): Promise<void> {
    this.appender = await this.warehouse.connection.createAppender(this.name, 'main', 'temp')
  }

  /** Lines joined by LF (none of them may contain LF), their timestamps within [lo, hi] µs, their line numbers in the file. */
  appendBlock(block: string, lineNumbers: readonly number[], lo: number, hi: number): void {
    const appender = this.appender!
    const lines = lineNumbers.length
    appender.appendVarchar(block)
    appender.appendBigInt(BigInt(lo))
    appender.appendBigInt(BigInt(hi))
    appender.appendInteger(lines)
    appender.appendBigInt(BigInt(lineNumbers[0]))
    if (lineNumbers[lines - 1] - lineNumbers[0] === lines - 1) appender.appendNull()
    else appender.appendVarchar(lineNumbers.join(','))
    appender.endRow()
    this.rows += lines
    this.unflushedChars += block.length
    if (this.unflushedChars >= FLUSH_CHARS) {
      // The appender buffers outside memory_limit until it flushes: keep that buffer small.
      appender.flushSync()
      this.unflushedChars = 0
    }
  }

  /**
   * `rn, rec`: one row per staged line of the blocks that may hold timestamps in [lo, hi] (all
   * blocks without a range); rn grows in file order. The caller filters the parsed timestamps.
   */
  linesSql(lo?: number, hi?: number): string {
    const where = lo === undefined || hi === undefined ? '' : `WHERE hi >= ${lo} AND lo <= ${hi}`
    return `SELECT blk * ${BLOCK_SPAN} + i AS rn, rec FROM (
      SELECT blk, unnest(ls) AS rec, generate_subscripts(ls, 1) AS i
      FROM (SELECT rowid AS blk, string_split(block, chr(10)) AS ls FROM ${this.table} ${where}))`
  }

  /** The file line number of the staged row `rn` (from linesSql). */
  async lineOf(rn: number): Promise<number> {
    const block = Math.floor(rn / BLOCK_SPAN)
    const index = rn - block * BLOCK_SPAN
    const row = await this.warehouse.one<{first: bigint; list: string | null}>(
      `SELECT first_line AS "first", line_numbers AS list FROM ${this.table} WHERE rowid = ${block}`,
    )
    return row.list === null ? Number(row.first) + index - 1 : Number(row.list.split(',')[index - 1])
  }

  /** The blocks as chunks for RowSource.chunksSql. */
  get chunksSql(): string {
    return `SELECT n, lo, hi FROM ${this.table}`
  }

  /** Flushes what was appended; the table can be read after this. */
  finish(): void {
    if (this.appender) {
      this.appender.closeSync()
      this.appender = undefined
    }
  }

  async drop(): Promise<void> {
    try {
      this.appender?.clear()
      this.appender?.closeSync()
    } catch {
      // A failed ingest may leave the appender in an error state; the table goes anyway.
    }

    this.appender = undefined
    await this.warehouse.run(`DROP TABLE IF EXISTS ${this.table}`).catch(() => {})
  }
}
