/**
 * `ingestFile`: one trade tape → market_data.gold_crypto_trades, all of it or (on a bad row,
 * without skipBadRows) none of it. Reading streams (flat memory for multi-GB tapes); the rows go
 * through a TEMP staging table and one INSERT … SELECT in one transaction.
 */
import type {Warehouse} from '../warehouse.js'
import type {IngestOptions, IngestResult, StagedTape} from './ingest-types.js'

import {UsageError} from '../errors.js'
import {stageCsvTape} from './csv-tape.js'
import {stageParquet} from './k2-parquet.js'
import {checkNameOptions} from './market-names.js'
import {Staging} from './staging.js'
import {nextIngestionTimestamp, storeTrades} from './store-trades.js'
import {TAPE_FORMATS} from './tape-format.js'
import {sniffContainer, tapeFileSize} from './tape-reader.js'

export type {IngestOptions, IngestProgress, IngestResult} from './ingest-types.js'
export {TAPE_FORMATS, type TapeFormat} from './tape-format.js'

export async function ingestFile(warehouse: Warehouse, file: string, options: IngestOptions): Promise<IngestResult> {
  if (options.format !== undefined && !TAPE_FORMATS.includes(options.format)) {
    throw new UsageError(`--format: '${options.format}' is not one of ${TAPE_FORMATS.join(', ')}`, {code: 'bad_flag'})
  }

  checkNameOptions(options)
  const fileSize = await tapeFileSize(file)
  const container = await sniffContainer(file)
  if (container === 'parquet' && options.format !== undefined && options.format !== 'k2') {
    throw new UsageError(`${file}: a Parquet tape must be in the k2 contract layout (--format k2), not ${options.format}`, {code: 'unknown_format'})
  }

  const nowMicros = Math.floor(options.nowMicros)
  const staging = container === 'parquet' ? await Staging.named(warehouse) : await Staging.create(warehouse)
  try {
    const staged: StagedTape =
      container === 'parquet'
        ? await stageParquet(warehouse, file, fileSize, options, staging)
        : await stageCsvTape(file, container, fileSize, options, staging)

    const stored =
      staged.staged > 0
        ? await storeTrades(warehouse, {
            parsedSql: staged.parsedSql,
            minMicros: staged.minMicros!,
            maxMicros: staged.maxMicros!,
            nowMicros,
            uniqueIds: staged.uniqueIds,
          })
        : {inserted: 0, ingestionTimestamp: await nextIngestionTimestamp(warehouse, nowMicros)}

    return {
      file,
      format: staged.format,
      exchange: staged.exchange,
      symbol: staged.symbol,
      rowsRead: staged.rowsRead,
      inserted: stored.inserted,
      duplicates: staged.staged - stored.inserted,
      skippedNonMarket: staged.skippedNonMarket,
      rejected: staged.rejected,
      rejectsFile: staged.rejectsFile,
      firstTradeMicros: staged.minMicros,
      lastTradeMicros: staged.maxMicros,
      ingestionTimestamp: stored.ingestionTimestamp,
    }
  } finally {
    await staging.drop()
  }
}
