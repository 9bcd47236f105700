import {Args, Flags} from '@oclif/core'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import type {IngestResult} from '../pipeline/ingest/ingest-types.js'

import {BaseCommand} from '../base-command.js'
import {UsageError} from '../pipeline/errors.js'
import {formatMicros} from '../pipeline/time.js'
import {withEngine} from '../pipeline/engine/index.js'
import {plural} from '../pipeline/words.js'
import {renderTable} from '../render/table.js'
import {runTasks} from '../render/tasks.js'

const FORMATS = ['binance', 'binance-agg', 'kraken', 'k2'] as const

/** A file's result in --json: instants in the one ISO-8601 form, not epoch µs. */
export type IngestFileJson = Omit<IngestResult, 'firstTradeMicros' | 'lastTradeMicros' | 'ingestionTimestamp'> & {
  firstTrade: string | null
  lastTrade: string | null
  ingestedAt: string
}

export interface IngestCommandResult {
  files: IngestFileJson[]
  inserted: number
  duplicates: number
  rejected: number
}

export default class Ingest extends BaseCommand<typeof Ingest> {
  static override summary = 'Load trade tapes (Binance, Kraken, K2 CSV/Parquet; .gz and .zip too) into the warehouse.'
  static override description = `The format is detected from each file (header, column count, booleans); --format forces one. Binance times are read per row in milliseconds or microseconds (spot files from 2025 on). Each file is one transaction: a file with a bad row is rejected whole with FILE:LINE: FIELD: what is wrong (exit 1) unless --skip-bad-rows, which stores the good rows and writes the rejected ones, with reasons, to <home>/rejects/. Loading the same file again adds nothing: trades are keyed by (exchange, symbol, trade_id); a key already stored (or earlier in the file) with another time, price or quantity rejects the file, naming the file that stored it first. Trade times must lie in ingest.earliestTime … now + ingest.maxFuture of config.json (default 2009-01-01 … now + 1 day). A Parquet file name is read as that one file, never as a glob; a klines (candles) file is refused (exit 2).

Formats: binance (spot trades as on data.binance.vision, and header-named spot/USD-M/COIN-M trade files), binance-agg (aggTrades), kraken (trade-history CSV: time,price,volume), k2 (the warehouse's own columns, CSV with header or Parquet).`
  static override examples = [
    '<%= config.bin %> ingest BTCUSDT-trades-2024-08-08.zip',
    '<%= config.bin %> ingest BTCUSDT-trades-2024-08-08.csv ETHUSDT-trades-2024-08-08.csv.gz',
    '<%= config.bin %> ingest BTCUSDT-usdm-trades.csv --exchange BINANCE_USDM',
    '<%= config.bin %> ingest BCHEUR.csv --format kraken --symbol BCHEUR',
    '<%= config.bin %> ingest tape.csv --skip-bad-rows --json',
  ]

  static override strict = false
  static override args = {
    file: Args.string({description: 'Trade tape(s) to load.', required: true}),
  }

  static override flags = {
    format: Flags.option({char: 'f', summary: 'Force the tape format instead of detecting it.', options: FORMATS})(),
    exchange: Flags.string({char: 'e', summary: 'Exchange of the trades (e.g. BINANCE, BINANCE_USDM, KRAKEN), where the file does not say it.'}),
    symbol: Flags.string({char: 's', summary: 'Symbol of the trades (e.g. BTCUSDT), where the file name does not say it.'}),
    'skip-bad-rows': Flags.boolean({summary: 'Store the good rows and write the bad ones, with reasons, to <home>/rejects/.', default: false}),
  }

  async run(): Promise<IngestCommandResult> {
    const files = this.positionals
    for (const file of files) if (!existsSync(file)) throw new UsageError(`${file}: no such file`, {code: 'no_such_file'})
    const {ingestTimeWindow} = await import('../pipeline/ingest/time-window.js')
    const now = this.now()
    const timeWindow = ingestTimeWindow(this.home.config.ingest, now, this.home.configFile)
    const results: IngestResult[] = []
    await withEngine(this.home, {...this.warehouseOptions(`ingest ${files.length === 1 ? files[0] : `${files.length} files`}`, true), role: 'ingest'}, async (engine) => {
      await engine.ensureSchema()
      await runTasks(
        files.map((file) => ({
          title: `Ingest ${file}`,
          task: async (_, task) => {
            const result = await engine.ingestFile(file, {
              format: this.flags.format,
              exchange: this.flags.exchange,
              symbol: this.flags.symbol,
              skipBadRows: this.flags['skip-bad-rows'],
              rejectsDir: join(this.home.dir, 'rejects'),
              nowMicros: now,
              timeWindow,
              onProgress: (p) => {
                task.output = `${p.rows.toLocaleString('en-US')} rows, ${p.totalBytes > 0 ? Math.round((100 * p.bytesRead) / p.totalBytes) : 0}%`
              },
            })
            results.push(result)
            task.title = `${file}: ${plural(result.inserted, 'trade')} stored${result.duplicates ? `, ${result.duplicates} already there` : ''}`
          },
        })),
        {json: this.jsonEnabled(), context: {}},
      )
    })
    const total = {inserted: 0, duplicates: 0, rejected: 0}
    for (const r of results) {
      total.inserted += r.inserted
      total.duplicates += r.duplicates
      total.rejected += r.rejected
    }

    if (!this.jsonEnabled()) this.display(results)
    return {files: results.map((r) => fileJson(r)), ...total}
  }

  private display(results: IngestResult[]): void {
    this.log(
      renderTable(
        ['FILE', 'FORMAT', 'EXCHANGE', 'SYMBOL', 'READ', 'STORED', 'DUPLICATES', 'NOT MARKET', 'REJECTED', 'FIRST TRADE', 'LAST TRADE'],
        results.map((r) => [
          r.file,
          r.format,
          r.exchange,
          r.symbol,
          r.rowsRead,
          r.inserted,
          r.duplicates,
          r.skippedNonMarket,
          r.rejected,
          r.firstTradeMicros === undefined ? '-' : formatMicros(r.firstTradeMicros),
          r.lastTradeMicros === undefined ? '-' : formatMicros(r.lastTradeMicros),
        ]),
        {alignRight: [4, 5, 6, 7, 8]},
      ),
    )
    for (const r of results) {
      if (r.skippedNonMarket > 0) this.log(`${r.file}: ${r.skippedNonMarket} non-MARKET trades (e.g. INSURANCE_FUND) left out, as the exchange's klines do`)
      if (r.rejectsFile) this.log(`${r.file}: ${plural(r.rejected, 'bad row')} written to ${r.rejectsFile}`)
    }
  }
}

function fileJson({firstTradeMicros, lastTradeMicros, ingestionTimestamp, ...rest}: IngestResult): IngestFileJson {
  return {
    ...rest,
    firstTrade: firstTradeMicros === undefined ? null : formatMicros(firstTradeMicros),
    lastTrade: lastTradeMicros === undefined ? null : formatMicros(lastTradeMicros),
    ingestedAt: formatMicros(ingestionTimestamp),
  }
}
