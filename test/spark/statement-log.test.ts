import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {logStatements, statementLogEntry, statementLogFile} from '../../src/pipeline/engine/spark/statement-log.js'
import {useTempDir} from '../helpers/temp-home.js'

describe('the Spark statement log (K2OPS_SPARK_SQL_LOG)', () => {
  const tempDir = useTempDir('k2ops-statement-log-')

  it('is off unless the variable names a file', () => {
    expect(statementLogFile({})).toBeUndefined()
    expect(statementLogFile({K2OPS_SPARK_SQL_LOG: ''})).toBeUndefined()
    expect(statementLogFile({K2OPS_SPARK_SQL_LOG: 'sql.log'})).toBe('sql.log')
  })

  it('writes each request as a comment line, then its statements each ended by one semicolon', () => {
    const entry = statementLogEntry({statements: ['SELECT 1', '  DROP VIEW IF EXISTS v;  '], sentAt: Date.UTC(2024, 7, 1), driverMs: 12, roundTripMs: 15.4})
    const [head, ...statements] = entry.trimEnd().split('\n')
    expect(head).toMatch(/^-- k2ops pid \d+ request at 2024-08-01T00:00:00.000Z: 2 statement\(s\), ok, driver 12 ms, round trip 15 ms$/)
    expect(statements).toEqual(['SELECT 1;', 'DROP VIEW IF EXISTS v;'])
  })

  it('says that a request failed, on its comment line only (no semicolon there)', () => {
    const entry = statementLogEntry({statements: ['SELECT x'], sentAt: 0, roundTripMs: 3, failed: 'cannot resolve x; see the log\nstack'})
    expect(entry.split('\n')[0]).toMatch(/, failed: cannot resolve x, see the log, round trip 3 ms$/)
    expect(entry.split('\n')[1]).toBe('SELECT x;')
  })

  it('appends the requests in order to one file', () => {
    const file = join(tempDir(), 'sql.log')
    logStatements(file, {statements: ['SELECT 1'], sentAt: 0, driverMs: 1, roundTripMs: 1})
    logStatements(file, {statements: ['SELECT 2'], sentAt: 0, driverMs: 1, roundTripMs: 1})
    const text = readFileSync(file, 'utf8')
    expect(text.match(/^-- k2ops/gm)).toHaveLength(2)
    expect(text.indexOf('SELECT 1;')).toBeLessThan(text.indexOf('SELECT 2;'))
  })
})
