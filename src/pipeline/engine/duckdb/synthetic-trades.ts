export interface SyntheticMarket {
  exchange: string
  symbol: string
  startPrice: number
  /** Price tick, e.g. 0.01: prices are whole ticks. */
  tick: number
}

export const DEMO_MARKETS: SyntheticMarket[] = [
  {exchange: 'BINANCE', symbol: 'BTCUSDT', startPrice: 61_800, tick: 0.01},
  {exchange: 'BINANCE', symbol: 'ETHUSDT', startPrice: 2_650, tick: 0.01},
  {exchange: 'BINANCE', symbol: 'SOLUSDT', startPrice: 155, tick: 0.001},
  {exchange: 'BINANCE', symbol: 'PEPEUSDT', startPrice: 0.000_008_5, tick: 0.000_000_01},
  {exchange: 'KRAKEN', symbol: 'BTCUSD', startPrice: 61_750, tick: 0.1},
  {exchange: 'KRAKEN', symbol: 'ETHUSD', startPrice: 2_648, tick: 0.01},
]

export interface SyntheticOptions {
  markets: SyntheticMarket[]
  /** Total trades over all markets. */
  trades: number
  fromMicros: number
  toMicros: number
  seed?: number
  /** Trade ids start here (so a second batch never collides with the first). */
  firstId?: number
}

/**
 * One SQL query that yields trades in the K2 contract's columns, deterministic for a seed:
 * per market a log-normal random walk of prices on the tick grid, exponential gaps between
 * trades with bursts (a tenth of the usual gap), about 15% of trades in the same millisecond as
 * the one before, and quantities spanning four orders of magnitude (meme coins: up to 1e9).
 */
export function syntheticTradesSql(options: SyntheticOptions): string {
  const seed = Math.trunc(options.seed ?? 42)
  const perMarket = Math.max(1, Math.floor(options.trades / options.markets.length))
  const span = Math.max(1, options.toMicros - options.fromMicros)
  const firstId = Math.trunc(options.firstId ?? 1)
  const markets = options.markets
    .map((m, i) => `(${i}, '${m.exchange.replaceAll("'", '')}', '${m.symbol.replaceAll("'", '')}', ${m.startPrice}, ${m.tick})`)
    .join(', ')
  // u(k): a uniform number in (0, 1) from a hash of (seed, market, trade, k).
  const u = (k: number) => `((hash(${seed}, id, i, ${k}) % 1000000)::DOUBLE + 0.5) / 1000000`
  return `
WITH markets(id, exchange, symbol, start_price, tick) AS (VALUES ${markets}),
steps AS (
  SELECT id, exchange, symbol, start_price, tick, i,
         CASE WHEN ${u(1)} < 0.15 THEN 0
              ELSE -ln(${u(2)}) * CASE WHEN (i // 2000) % 9 = 0 THEN 0.1 ELSE 1.0 END END AS gap,
         (${u(3)} + ${u(4)} + ${u(5)} - 1.5) * 0.0015 AS step,
         exp(${u(6)} * 9.2 - 6.9) AS size
  FROM markets, range(${perMarket}) r(i)
),
walk AS (
  SELECT *, sum(gap) OVER w AS clock, sum(step) OVER w AS drift, sum(gap) OVER (PARTITION BY id) AS total
  FROM steps WINDOW w AS (PARTITION BY id ORDER BY i ROWS UNBOUNDED PRECEDING)
)
SELECT (${firstId} + i)::VARCHAR AS trade_id, symbol, exchange,
       (${options.fromMicros}::BIGINT + (floor(clock / greatest(total, 1e-9) * ${span - 1000} / 1000) * 1000)::BIGINT) AS "timestamp",
       greatest(round(start_price * exp(drift) / tick) * tick, tick)::DECIMAL(18,8) AS price,
       (round(size * CASE WHEN start_price < 0.01 THEN 1000000000 WHEN start_price < 10 THEN 1000 ELSE 1 END, 4)::DECIMAL(38,4) + 0.0001)::DECIMAL(38,8) AS quantity,
       CASE WHEN ${u(7)} < 0.5 THEN 'BUY' ELSE 'SELL' END AS side,
       (${firstId} + i)::BIGINT AS source_sequence
FROM walk`
}

