import {Flags} from '@oclif/core'
import {extname, resolve} from 'node:path'

import type {ExportFormat, ExportResult} from '../../pipeline/candle-export.js'

import {BaseCommand} from '../../base-command.js'
import {candleReadFlags, readTimeframeOf} from '../../candle-read-flags.js'
import {EXPORT_FORMATS} from '../../pipeline/candle-export.js'
import {UsageError} from '../../pipeline/errors.js'
import {withEngine} from '../../pipeline/engine/index.js'
import {formatBytes} from '../../checks/units.js'
import {count, plural} from '../../pipeline/words.js'
import {progressBar, runTasks} from '../../render/tasks.js'
import {timeWindowFlags} from '../../time-window-flags.js'

/** DuckDB's memory for an export's reads (the Spark engine ignores it). */
const EXPORT_MEMORY_LIMIT = '256MB'

export default class CandlesExport extends BaseCommand<typeof CandlesExport> {
  static override summary = 'Export the candles of many markets over a range to one Parquet, CSV or JSON Lines file.'
  static override description = `Reads a chunk of windows at a time, so memory stays flat over any range, and writes beside --out, renaming the file over it at the end: an interrupted export never leaves a partial file under that name (an existing file is kept unless --force). Parquet keeps the candle tables' types (DECIMAL prices and volumes, TIMESTAMP windows in UTC); JSON Lines has trade_count as a number and decimals as exact text. --timeframe, --tz, --day-start and --fill read as in k2ops candles.`

  static override examples = [
    '<%= config.bin %> candles export --timeframe 1h --from 2024-01-01 --to 2025-01-01 --all --out candles-2024.parquet',
    '<%= config.bin %> candles export --timeframe 4h --lookback 30d --symbol BTCUSDT,ETHUSDT --exchange BINANCE --out majors.csv',
    '<%= config.bin %> candles export --timeframe 1d --tz Europe/London --from 2024-03-01 --to 2024-04-01 --all --format jsonl --out london.jsonl --json',
  ]

  static override flags = {
    ...candleReadFlags,
    ...timeWindowFlags({from: 'First window to export'}),
    symbol: Flags.string({summary: 'These symbols, a comma list (e.g. BTCUSDT,ETHUSDT).', exactlyOne: ['symbol', 'all']}),
    all: Flags.boolean({summary: 'Every market with candles.', exactlyOne: ['symbol', 'all']}),
    exchange: Flags.string({char: 'e', summary: 'Only this exchange (e.g. BINANCE).'}),
    format: Flags.option({summary: 'File format (default: from the --out extension, else parquet).', options: EXPORT_FORMATS})(),
    out: Flags.string({char: 'o', summary: 'The file to write.', required: true}),
    force: Flags.boolean({summary: 'Replace a file already at --out.'}),
  }

  async run(): Promise<ExportResult> {
    const now = this.now()
    const timeframe = readTimeframeOf(this.flags, now)
    const {fromMicros, toMicros} = this.timeWindow({}, now)
    if (fromMicros === undefined || toMicros === undefined) throw new UsageError('candles export needs a range: --from (and --to) or --lookback', {code: 'usage'})
    const out = resolve(this.flags.out)
    const format = this.flags.format ?? formatOf(out)
    const {checkExportTarget, exportCandles} = await import('../../pipeline/candle-export.js')
    checkExportTarget(out, this.flags.force)
    const symbols = this.flags.symbol?.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)
    let result!: ExportResult
    // A chunk at a time needs little of DuckDB's cache: memory stays flat however big the warehouse is.
    await withEngine(this.home, {...this.warehouseOptions('candles export'), readOnly: true, memoryLimit: EXPORT_MEMORY_LIMIT}, (engine) =>
      runTasks(
        [
          {
            title: `Export ${timeframe.name} candles to ${out}`,
            task: async (_ctx, task) => {
              result = await exportCandles(engine, {
                timeframe,
                fromMicros,
                toMicros,
                symbols,
                exchange: this.flags.exchange?.toUpperCase(),
                fill: this.flags.fill,
                format,
                out,
                force: this.flags.force,
                nowMicros: now,
                onChunk: ({chunk, chunks, rows}) => (task.output = `${progressBar(chunk, chunks)} chunks, ${count(rows)} rows`),
              })
            },
          },
        ],
        {json: this.jsonEnabled(), context: {}},
      ),
    )
    if (!this.jsonEnabled()) {
      this.log(`Exported ${plural(result.rows, 'candle')} of ${plural(result.markets, 'market')} (${result.timeframe}, ${result.from} → ${result.to}) to ${result.out}: ${result.format}, ${formatBytes(result.bytes)}, in ${count(result.durationMs)} ms.`)
    }

    return result
  }
}

/** The format an output name implies: .csv, .jsonl (or .ndjson); anything else is Parquet. */
function formatOf(out: string): ExportFormat {
  const ext = extname(out).toLowerCase()
  return ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : 'parquet'
}
