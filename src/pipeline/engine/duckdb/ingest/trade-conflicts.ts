/**
 * A trade is keyed by (exchange, symbol, trade_id). A row whose key is already stored (or earlier
 * in the same file) with the same time, price and quantity is a duplicate: store-trades skips it.
 * With another time, price or quantity it is a conflict: the file is rejected whole, naming the row
 * and where the key came from first.
 *
 * Set-based, in two steps each, because hashing and comparing the three VARCHAR key columns of
 * every row costs several times the hashes: first by a 64-bit hash of the key (within the file:
 * the hashes seen twice, neighbours once sorted; against the stored trades: equal key hashes whose hash of time, price and
 * quantity differs), into a TEMP table; then only the rows of those hashes are compared exactly,
 * so a collision of two different keys is not taken for a conflict. (Two different values with
 * equal 64-bit hashes would pass as a duplicate: odds of 2^-64 per repeated key.)
 * The stored side is read only for the file's markets and trade_id range (zonemaps skip the rest),
 * and not at all for Kraken ids, which are made of the trade's time, price and quantity.
 *
 * Once no conflict is left, every repeat of a key has the key's timestamp, so the duplicates fall
 * into one time slice, where store-trades drops them.
 */
import type {RowSource} from './staged-types.js'
import type {Warehouse} from '../warehouse.js'

import {BadInputError} from '../../../errors.js'
import {INGESTED_FILES_TABLE, TRADES_TABLE} from '../../../schema.js'
import {formatMicros} from '../../../time.js'
import {sqlLiteral} from './staged-sql.js'

export interface ConflictCheck {
  /** For messages. */
  file: string
  source: RowSource
  minMicros: number
  maxMicros: number
  /** The one exchange / symbol of the file, when it has one: narrows the stored rows read. */
  exchange?: string
  symbol?: string
  /** Also against the stored trades (default); false: within the file only. */
  againstStored?: boolean
}

interface ConflictRow {
  rn: bigint
  trade_id: string
  t: boolean
  p: boolean
  q: boolean
}

const KEY_HASH = (alias: string) => `hash(${alias}.exchange, ${alias}.symbol, ${alias}.trade_id)`
const SAME_KEY = 's.exchange = t.exchange AND s.symbol = t.symbol AND s.trade_id = t.trade_id'
const DIFFERENCES = `s."timestamp" <> t."timestamp" AS t, s.price <> t.price AS p, s.quantity <> t.quantity AS q`
const DIFFERS = `(s."timestamp" <> t."timestamp" OR s.price <> t.price OR s.quantity <> t.quantity)`

let counter = 0

/** Throws BadInputError for the first conflicting row of the file (within it, then against the stored trades). */
export async function checkTradeConflicts(warehouse: Warehouse, check: ConflictCheck): Promise<void> {
  counter += 1
  const keys = `temp.main.k2ops_conflict_keys_${process.pid}_${counter}`
  const rows = check.source.rangeSql(check.minMicros, check.maxMicros)
  try {
    if (!check.source.uniqueIds) {
      const repeat = await withCandidates(
        warehouse,
        keys,
        // Sorting the hashes and comparing neighbours took 2.0 s for a 20M-row tape, a GROUP BY 4.2 s
        // (its 20M groups barely fit in a 1 GB memory_limit).
        `SELECT DISTINCT h FROM (SELECT h, h = lag(h) OVER (ORDER BY h) AS repeated FROM (SELECT ${KEY_HASH('s')} AS h FROM (${rows}) AS s)) WHERE repeated`,
        () => firstInFileConflict(warehouse, rows, keys),
      )
      if (repeat) {
        throw new BadInputError(
          `${check.file}:${await check.source.location(Number(repeat.rn))}: trade_id: ${repeat.trade_id} repeats ${await where(check, repeat.first_rn)} with a different ${fields(repeat)}`,
          {hint: 'Nothing from this file was stored. A trade id names one trade: fix the rows, or give the trades distinct ids.'},
        )
      }
    }

    if (check.source.valuesInIds || check.againstStored === false) return
    const stored = storedSql(check)
    if (!(await warehouse.one<{any: boolean}>(`SELECT EXISTS (${stored}) AS "any"`)).any) return
    const hashes = (from: string) => `SELECT ${KEY_HASH('r')} AS h, hash(r."timestamp", r.price, r.quantity) AS v FROM (${from}) AS r`
    const clash = await withCandidates(
      warehouse,
      keys,
      `SELECT DISTINCT s.h FROM (${hashes(rows)}) AS s JOIN (${hashes(stored)}) AS t ON s.h = t.h WHERE s.v <> t.v`,
      () => firstStoredConflict(warehouse, rows, stored, keys),
    )
    if (clash) {
      throw new BadInputError(
        `${check.file}:${await check.source.location(Number(clash.rn))}: trade_id: ${clash.trade_id} already stored with a different ${fields(clash)} (${await firstStored(warehouse, clash.stored_at)})`,
        {hint: 'Nothing from this file was stored. A trade id names one trade: the stored trade and this row cannot both be right.'},
      )
    }
  } finally {
    await warehouse.run(`DROP TABLE IF EXISTS ${keys}`)
  }
}

/** The stored trades that can share a key with the file's rows. */
function storedSql(check: ConflictCheck): string {
  const ids = check.source.idRange
  const narrow = [
    check.exchange === undefined ? '' : `AND exchange = ${sqlLiteral(check.exchange)}`,
    check.symbol === undefined ? '' : `AND symbol = ${sqlLiteral(check.symbol)}`,
    ids === undefined ? '' : `AND trade_id BETWEEN ${sqlLiteral(ids.lo)} AND ${sqlLiteral(ids.hi)}`,
  ].join(' ')
  return `SELECT exchange, symbol, trade_id, "timestamp", price, quantity, ingestion_timestamp FROM ${TRADES_TABLE} WHERE true ${narrow}`
}

/** Fills `keys` with the candidate key hashes; runs `exact` only when there are some. */
async function withCandidates<T>(warehouse: Warehouse, keys: string, candidatesSql: string, exact: () => Promise<T | undefined>): Promise<T | undefined> {
  await warehouse.run(`CREATE OR REPLACE TEMP TABLE ${keys.split('.').at(-1)} AS ${candidatesSql}`)
  const {n} = await warehouse.one<{n: bigint}>(`SELECT count(*) AS n FROM ${keys}`)
  return n > 0n ? exact() : undefined
}

/** The first row (in file order) whose key came earlier in the file with other values, and that earlier row. */
async function firstInFileConflict(warehouse: Warehouse, rows: string, keys: string): Promise<(ConflictRow & {first_rn: bigint}) | undefined> {
  return warehouse.one<ConflictRow & {first_rn: bigint}>(`SELECT s.rn, s.trade_id, t.rn AS first_rn, ${DIFFERENCES}
    FROM (SELECT r.*, min(r.rn) OVER (PARTITION BY r.exchange, r.symbol, r.trade_id) AS first_rn
          FROM (${rows}) AS r WHERE ${KEY_HASH('r')} IN (SELECT h FROM ${keys})) AS s
    JOIN (SELECT r.* FROM (${rows}) AS r WHERE ${KEY_HASH('r')} IN (SELECT h FROM ${keys})) AS t ON ${SAME_KEY} AND t.rn = s.first_rn
    WHERE ${DIFFERS} ORDER BY s.rn LIMIT 1`)
}

/** The first row (in file order) whose key is stored with other values, and when that was stored first. */
async function firstStoredConflict(warehouse: Warehouse, rows: string, stored: string, keys: string): Promise<(ConflictRow & {stored_at: bigint}) | undefined> {
  return warehouse.one<ConflictRow & {stored_at: bigint}>(`SELECT s.rn, s.trade_id, t.ingestion_timestamp AS stored_at, ${DIFFERENCES}
    FROM (SELECT r.* FROM (${rows}) AS r WHERE ${KEY_HASH('r')} IN (SELECT h FROM ${keys})) AS s
    JOIN (SELECT r.* FROM (${stored}) AS r WHERE ${KEY_HASH('r')} IN (SELECT h FROM ${keys})) AS t ON ${SAME_KEY}
    WHERE ${DIFFERS} ORDER BY s.rn, t.ingestion_timestamp LIMIT 1`)
}

/** `time/price` — the values that differ, in the contract's order. */
function fields(row: ConflictRow): string {
  return [row.t && 'time', row.p && 'price', row.q && 'quantity'].filter(Boolean).join('/')
}

async function where(check: ConflictCheck, rn: bigint): Promise<string> {
  const location = await check.source.location(Number(rn))
  return location.startsWith('row ') ? location : `line ${location}`
}

/** `first stored from FILE`, from the ingest log; rows stored before the log existed have no entry. */
async function firstStored(warehouse: Warehouse, ingestionTimestamp: bigint): Promise<string> {
  const rows = await warehouse.all<{file: string}>(`SELECT file FROM ${INGESTED_FILES_TABLE} WHERE ingestion_timestamp = $at`, {at: ingestionTimestamp})
  if (rows.length > 0) return `first stored from ${rows[0].file}`
  return `first stored at ${formatMicros(Number(ingestionTimestamp))}; its source file was not recorded`
}
