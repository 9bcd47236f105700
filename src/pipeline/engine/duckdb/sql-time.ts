/**
 * SQL for a TIMESTAMP as the ISO-8601 text k2ops prints everywhere (formatMicros): seconds, and the
 * microseconds only when there are any. Evidence of every check reads the same, and joins.
 */
export function isoSql(timestamp: string): string {
  return `CASE WHEN microsecond(${timestamp}) % 1000000 = 0 THEN strftime(${timestamp}, '%Y-%m-%dT%H:%M:%SZ')
               ELSE strftime(${timestamp}, '%Y-%m-%dT%H:%M:%S.%fZ') END`
}
