import {loadDuckDB} from './duckdb-module.js'
import {sqlLiteral} from './ingest/staged-sql.js'

// DuckDB as a file converter for `candles export --format parquet`, on either engine: the export's
// CSV, typed as the candle tables are (decimals kept as decimals), streamed into one Parquet file.

/** An exported column and its SQL type in the Parquet file. */
export interface ParquetColumn {
  name: string
  type: string
}

/** Converts `csv` (with a header) to Parquet at `parquet`, each column cast to its type; returns the rows. */
export async function csvToParquet(csv: string, parquet: string, columns: ParquetColumn[], tempDirectory: string): Promise<number> {
  const {DuckDBInstance} = loadDuckDB()
  // Bounded memory: what does not fit spills to the temp directory.
  const instance = await DuckDBInstance.create(':memory:', {memory_limit: '256MB', threads: '2', temp_directory: tempDirectory})
  const connection = await instance.connect()
  try {
    const read = `read_csv(${sqlLiteral(csv)}, header = true, all_varchar = true, columns = {${columns.map((c) => `${sqlLiteral(c.name)}: 'VARCHAR'`).join(', ')}})`
    const select = columns.map((c) => `CAST(${c.type.startsWith('TIMESTAMP') ? `replace("${c.name}", 'Z', '')` : `"${c.name}"`} AS ${c.type}) AS "${c.name}"`).join(', ')
    const result = await connection.run(`COPY (SELECT ${select} FROM ${read}) TO ${sqlLiteral(parquet)} (FORMAT parquet, COMPRESSION zstd)`)
    return Number(result.rowsChanged)
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}
