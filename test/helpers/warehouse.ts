import {copyFileSync} from 'node:fs'
import {join} from 'node:path'

import type {CandleRow} from '../../src/pipeline/engine/engine.js'

import {isProcessRunning} from '../../src/pipeline/process-owner.js'
import {TRADES_TABLE} from '../../src/pipeline/schema.js'
import {TIMEFRAME_SPECS, Timeframe} from '../../src/pipeline/timeframes.js'
import {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'

export async function openTestWarehouse(dir: string, file = 'warehouse.duckdb'): Promise<Warehouse> {
  return Warehouse.open(join(dir, file), {operation: 'test', lockTimeoutMs: 2000, create: true})
}

export interface TestTrade {
  id: string
  symbol?: string
  exchange?: string
  /** ISO-8601 instant or µs. */
  at: string | number
  price: string
  qty: string
  seq?: number | null
  /** The taker's side (default BUY); null: a tape without sides. */
  side?: 'BUY' | 'SELL' | null
  ingestedAt?: number
}

export function micros(iso: string): number {
  const [whole, frac = ''] = iso.replace('Z', '').split('.')
  return Date.parse(`${whole}Z`) * 1000 + Number(frac.padEnd(6, '0').slice(0, 6))
}

/** Inserts trades straight into the source table (bypassing ingest), as a feed would. */
export async function insertTrades(warehouse: Warehouse, trades: TestTrade[], defaultIngestedAt = 1): Promise<void> {
  for (const t of trades) {
    const ts = typeof t.at === 'number' ? t.at : micros(t.at)
    await warehouse.run(
      `INSERT INTO ${TRADES_TABLE} VALUES ($id, $symbol, $exchange, $ts::BIGINT, $price::DECIMAL(18,8), $qty::DECIMAL(38,8), $side, $seq::BIGINT, $ing::BIGINT, CAST(make_timestamp($ts::BIGINT) AS DATE), NULL)`,
      {
        id: t.id,
        symbol: t.symbol ?? 'BTCUSDT',
        exchange: t.exchange ?? 'BINANCE',
        ts: BigInt(ts),
        price: t.price,
        qty: t.qty,
        side: t.side === undefined ? 'BUY' : t.side,
        seq: t.seq === undefined ? BigInt(Number.parseInt(t.id.replaceAll(/\D/g, '') || '0', 10)) : t.seq === null ? null : BigInt(t.seq),
        ing: BigInt(t.ingestedAt ?? defaultIngestedAt),
      },
    )
  }
}

/** A candle row as stored, bookkeeping columns included. */
export interface StoredCandle extends CandleRow {
  window_date: string
  created_at: string
  updated_at: string
}

/** Every stored candle of a timeframe, in key order, values as exact text. */
export async function candles(warehouse: Warehouse, tf: Timeframe): Promise<StoredCandle[]> {
  return warehouse.json<StoredCandle>(`SELECT * FROM ${TIMEFRAME_SPECS[tf].table} ORDER BY symbol, exchange, window_start`)
}

/** Candles without the bookkeeping timestamps: what two equivalent runs must agree on. */
export async function candleValues(warehouse: Warehouse, tf: Timeframe): Promise<Array<Omit<StoredCandle, 'created_at' | 'updated_at'>>> {
  return (await candles(warehouse, tf)).map(({created_at: _c, updated_at: _u, ...rest}) => rest)
}

/** Fills a warehouse with synthetic trades straight from the generator (no ingest). */
export async function seedSyntheticTrades(warehouse: Warehouse, options: {trades: number; from: string; to: string; seed?: number; ingestedAt?: number}): Promise<void> {
  const {DEMO_MARKETS, syntheticTradesSql} = await import('../../src/pipeline/engine/duckdb/synthetic-trades.js')
  const sql = syntheticTradesSql({markets: DEMO_MARKETS, trades: options.trades, fromMicros: micros(options.from), toMicros: micros(options.to), seed: options.seed})
  await warehouse.run(
    `INSERT INTO ${TRADES_TABLE}
     SELECT trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, ${Math.trunc(options.ingestedAt ?? 1)}, CAST(make_timestamp("timestamp") AS DATE), NULL
     FROM (${sql})`,
  )
}

/** A copy of `source` (a warehouse file) at `<home>/warehouse.duckdb`, with `statements` run on it and checkpointed. */
export async function corruptedCopy(source: string, home: string, ...statements: string[]): Promise<string> {
  const path = join(home, 'warehouse.duckdb')
  copyFileSync(source, path)
  const warehouse = await Warehouse.open(path, {operation: 'test', lockTimeoutMs: 5000})
  try {
    for (const sql of statements) await warehouse.run(sql)
    // Everything in the file itself, nothing left in a WAL beside it.
    await warehouse.run('CHECKPOINT')
  } finally {
    warehouse.close()
  }

  return home
}

/** Is this process alive? One that exited is not, even before init reaps it (a zombie). */
export const isProcessAlive = isProcessRunning
