/** The checks' evidence and the candle queries print timestamps the same way: one definition, in the pipeline. */
export {isoSql} from '../pipeline/sql-time.js'
