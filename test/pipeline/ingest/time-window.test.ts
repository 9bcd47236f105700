import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {BadInputError, UsageError} from '../../../src/pipeline/errors.js'
import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import {ingestTimeWindow} from '../../../src/pipeline/ingest/time-window.js'
import {Warehouse} from '../../../src/pipeline/engine/duckdb/warehouse.js'
import {useIngestWarehouse} from '../../helpers/ingest-warehouse.js'

const NOW = Date.UTC(2025, 0, 2) * 1000
const setup = useIngestWarehouse(NOW)
const DEFAULT = '2009-01-01 … now + 1 day'
const Y2100 = 4_102_444_800_000_000
/** 2^53 µs: the first timestamp that is no longer an exact number in JavaScript. */
const TWO_53 = 9_007_199_254_740_992

async function count(warehouse: Warehouse): Promise<number> {
  return Number((await warehouse.one<{n: bigint}>('SELECT count(*) AS n FROM market_data.gold_crypto_trades')).n)
}

const spot = (id: number, time: string) => `${id},61837.63000000,0.02000000,1236.75260000,${time},True,True`
const agg = (id: number, time: string) => `${id},0.00141342,10.00000000,${id},${id},${time},True,True`
const k2Csv = (id: number, time: string) => `t${id},BTCUSDT,BINANCE,${time},1.5,2`
const GOOD_MS = '1723161255342'

/** [format, file name, header, row maker, good time text, bad time text, field, the bad time as ISO]. */
const CASES: [string, string, string | undefined, (id: number, time: string) => string, string, string, string, string][] = [
  ['binance ms, 1970', 'BTCUSDT-trades-2024-08-08.csv', undefined, spot, GOOD_MS, '1000', 'isBestMatch', ''],
  ['binance µs, 2100', 'BTCUSDT-trades-2024-08-08.csv', undefined, spot, GOOD_MS, String(Y2100), 'time', '2100-01-01T00:00:00Z'],
  ['binance µs, 2^53', 'BTCUSDT-trades-2024-08-08.csv', undefined, spot, GOOD_MS, String(TWO_53), 'time', '2255-06-05T23:47:34.740992Z'],
  ['binance ms, just over now + 1 day', 'BTCUSDT-trades-2024-08-08.csv', undefined, spot, GOOD_MS, String(NOW / 1000 + 86_400_000 + 1), 'time', '2025-01-03T00:00:00.001000Z'],
  ['binance-agg, 2100', 'XRPETH-aggTrades-2019-10-11.csv', undefined, agg, '1570752011620', String(Y2100 / 1000), 'timestamp', '2100-01-01T00:00:00Z'],
  ['kraken seconds with fractions, 1970', 'kraken.csv', undefined, (_, t) => `${t},90.54,1.1`, '1672531436.1234', '86400.5', 'unix_time_seconds', '1970-01-02T00:00:00.500000Z'],
  ['kraken seconds with fractions, 2100', 'kraken.csv', undefined, (_, t) => `${t},90.54,1.1`, '1672531436.1234', '4102444800.25', 'unix_time_seconds', '2100-01-01T00:00:00.250000Z'],
  ['k2 CSV, 2008', 'export.csv', 'trade_id,symbol,exchange,timestamp,price,quantity', k2Csv, '1723161255342000', '1230767999999999', 'timestamp', '2008-12-31T23:59:59.999999Z'],
  ['k2 CSV, 2^53', 'export.csv', 'trade_id,symbol,exchange,timestamp,price,quantity', k2Csv, '1723161255342000', String(TWO_53), 'timestamp', '2255-06-05T23:47:34.740992Z'],
]

describe('ingest: trade times outside 2009-01-01 … now + 1 day are bad rows', () => {
  it.each(CASES.filter((c) => c[7] !== ''))('%s → FILE:LINE: FIELD: ISO is outside the window; with skipBadRows a reject', async (_, name, header, make, goodTime, badTime, field, iso) => {
    const {dir, warehouse, options} = await setup()
    const file = join(dir, name)
    const lines = [...(header ? [header] : []), make(1, goodTime), make(2, badTime), make(3, goodTime)]
    writeFileSync(file, lines.join('\n') + '\n')
    const line = header ? 3 : 2
    const opts = {...options, symbol: 'BCHEUR'}
    const error = await ingestFile(warehouse, file, opts).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BadInputError)
    expect((error as BadInputError).message).toBe(`${file}:${line}: ${field}: ${iso} is outside ${DEFAULT}`)
    expect(await count(warehouse)).toBe(0)

    const skipped = await ingestFile(warehouse, file, {...opts, skipBadRows: true})
    expect(skipped).toMatchObject({rejected: 1, inserted: name === 'kraken.csv' ? 2 : 2})
    expect(readFileSync(skipped.rejectsFile!, 'utf8').split('\n')[1]).toBe(`${line},${field},${iso} is outside ${DEFAULT},"${lines[line - 1]}"`)
  })

  it('a 1970 ms time in a binance file is outside too (1000 ms = 1970-01-01T00:00:01Z)', async () => {
    const {dir, warehouse, options} = await setup()
    const file = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
    writeFileSync(file, [spot(1, GOOD_MS), spot(2, '1000')].join('\n'))
    await expect(ingestFile(warehouse, file, options)).rejects.toMatchObject({message: `${file}:2: time: 1970-01-01T00:00:01Z is outside ${DEFAULT}`})
  })

  it.each([
    ['BIGINT', 'BIGINT', String(Y2100), '2100-01-01T00:00:00Z'],
    ['BIGINT at 2^53', 'BIGINT', String(TWO_53), '2255-06-05T23:47:34.740992Z'],
    ['TIMESTAMP', 'TIMESTAMP', "'1970-01-01 00:00:00.5'", '1970-01-01T00:00:00.500000Z'],
    ['VARCHAR', 'VARCHAR', `'${Y2100 + 5}'`, '2100-01-01T00:00:00.000005Z'],
  ])('k2 Parquet with a %s timestamp: row N is outside; with skipBadRows a reject', async (_, type, bad, iso) => {
    const {dir, warehouse, options} = await setup()
    const file = join(dir, 'tape.parquet')
    const good = type === 'TIMESTAMP' ? "'2024-08-08 23:54:15.342'" : type === 'VARCHAR' ? "'1723161255342000'" : '1723161255342000'
    await warehouse.run(`COPY (SELECT * FROM (VALUES ('t1', CAST(${good} AS ${type})), ('t2', CAST(${bad} AS ${type})), ('t3', CAST(${good} AS ${type})))
        AS v(trade_id, "timestamp"), (SELECT 'BTCUSDT' AS symbol, 'BINANCE' AS exchange, 1.5::DECIMAL(18,8) AS price, 2::DECIMAL(38,8) AS quantity))
      TO '${file}' (FORMAT parquet)`)
    await expect(ingestFile(warehouse, file, options)).rejects.toMatchObject({message: `${file}:row 2: timestamp: ${iso} is outside ${DEFAULT}`})
    expect(await count(warehouse)).toBe(0)
    const skipped = await ingestFile(warehouse, file, {...options, skipBadRows: true})
    expect(skipped).toMatchObject({rejected: 1, inserted: 2})
    expect(readFileSync(skipped.rejectsFile!, 'utf8').split('\n')[1]).toMatch(new RegExp(`^2,timestamp,${iso.replaceAll('.', '\\.')} is outside 2009-01-01 … now \\+ 1 day,"t2,`))
  })

  it('the window comes from the config (earliestTime, maxFuture) and the command clock', async () => {
    const {dir, warehouse, options} = await setup()
    const window = ingestTimeWindow({earliestTime: '2024-08-08T23:00:00Z', maxFuture: '36h'}, Date.UTC(2024, 7, 8, 23, 54) * 1000)
    expect(window.label).toBe('2024-08-08T23:00:00Z … now + 36 hours')
    const file = join(dir, 'BTCUSDT-trades-2024-08-08.csv')
    writeFileSync(file, [spot(1, GOOD_MS), spot(2, String(Date.UTC(2024, 7, 8, 22, 59, 59) * 1000 + 999_999))].join('\n'))
    await expect(ingestFile(warehouse, file, {...options, timeWindow: window})).rejects.toMatchObject({
      message: `${file}:2: time: 2024-08-08T22:59:59.999999Z is outside 2024-08-08T23:00:00Z … now + 36 hours`,
    })
    expect(ingestTimeWindow({maxFuture: '1h'}, NOW).latestMicros).toBe(NOW + 3_600_000_000)
  })

  // The form of each value is the config schema's (test/e2e/config.test.ts); here, how they meet the clock.
  it.each([
    [{earliestTime: '2030-01-01'}, "config.json: ingest.earliestTime: '2030-01-01' is after now + ingest.maxFuture (2025-01-03T00:00:00Z)"],
])('a bad ingest config %j is a usage error naming the key', (config, message) => {
    let error: unknown
    try {
      ingestTimeWindow(config as never, NOW)
    } catch (caught) {
      error = caught
    }

    expect(error).toBeInstanceOf(UsageError)
    expect(error).toMatchObject({message, exit: 2, code: 'bad_config'})
  })
})
