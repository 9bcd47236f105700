import type {TimeWindow} from '../../../ingest/time-window.js'

import {isoSql} from '../sql-time.js'

/** The SQL twin of outsideWindowReason over a µs BIGINT expression: NULL inside the window. */
export function outsideWindowSql(micros: string, window: TimeWindow): string {
  return `CASE WHEN (${micros}) < ${window.earliestMicros} OR (${micros}) > ${window.latestMicros}
    THEN ${isoSql(`make_timestamp(${micros})`)} || ' is outside ' || '${window.label.replaceAll("'", "''")}' END`
}
