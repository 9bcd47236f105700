import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {UsageError} from '../../../src/pipeline/errors.js'
import {ingestFile} from '../../../src/pipeline/engine/duckdb/ingest/ingest-file.js'
import {hasRealData, realFile} from '../../helpers/real-data.js'
import {useIngestWarehouse} from '../../helpers/ingest-warehouse.js'

const SPOT_KLINES = realFile('binance_spot_klines_format_samples', 'ADABTC-1m-2021-11-27.head10.csv')
const USDM_KLINES = realFile('binance_usdm_BTCUSDT_2024-08-08', 'BTCUSDT-usdm-klines-1m_2024-08-08T2350Z_2024-08-09T0010Z.csv')
const FREQTRADE_CANDLES = realFile('binance_spot_XRPETH_2019-10-11', 'XRPETH-1m-candles_freqtrade-derived-NOT-official.csv')

const setup = useIngestWarehouse(Date.UTC(2025, 0, 2) * 1000)

async function klinesError(file: string, options: Partial<Parameters<typeof ingestFile>[2]> = {}): Promise<unknown> {
  const {warehouse, options: base} = await setup()
  return ingestFile(warehouse, file, {...base, symbol: 'ADABTC', ...options}).then(
    () => 'stored',
    (error: unknown) => error,
  )
}

describe('ingest: a klines (candles) file is named as such, not read as trades', () => {
  it.skipIf(!hasRealData).each([
    ['headerless spot klines', SPOT_KLINES],
    ['USD-M klines with a header', USDM_KLINES],
    ['freqtrade candles', FREQTRADE_CANDLES],
  ])('%s: one line saying it is klines, exit 2, with or without --format', async (_, file) => {
    for (const format of [undefined, 'binance', 'binance-agg'] as const) {
      const error = await klinesError(file, {format, exchange: 'BINANCE_USDM'})
      expect(error, `--format ${format}`).toBeInstanceOf(UsageError)
      expect((error as UsageError).message).toMatch(new RegExp(`^${file.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}: a klines \\(candles\\) file, not trades \\(`))
      expect((error as UsageError).message).not.toContain('\n')
      expect((error as UsageError).code).toBe('klines_file')
    }
  })

  it('spot klines from 2025 (µs times) are recognised too', async () => {
    const {dir} = await setup()
    const file = join(dir, 'DOGEUSDT-1s-2025-01-01.csv')
    writeFileSync(file, '1735689600000000,0.31600000,0.31601000,0.31600000,0.31601000,2270.00000000,1735689600999999,717.33140000,6,1700.00000000,537.21700000,0\n')
    expect(await klinesError(file)).toMatchObject({code: 'klines_file'})
  })
})
