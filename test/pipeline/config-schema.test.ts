import type {InferOutput} from 'valibot'

import {DuckDBInstance} from '@duckdb/node-api'
import {describe, expect, expectTypeOf, it} from 'vitest'

import {DEFAULT_THRESHOLDS, Thresholds, resolveThresholds} from '../../src/checks/thresholds.js'
import {MEMORY_LIMIT, THRESHOLDS_SCHEMA, validate} from '../../src/pipeline/config-schema.js'

describe('the config schema', () => {
  it('names exactly the thresholds the checks have', () => {
    expectTypeOf<keyof Required<InferOutput<typeof THRESHOLDS_SCHEMA>>>().toEqualTypeOf<keyof Thresholds>()
    // Every default, written out as an override, is a valid override of itself.
    expect(resolveThresholds(structuredClone(DEFAULT_THRESHOLDS))).toEqual(DEFAULT_THRESHOLDS)
  })

  it('takes a memory limit that DuckDB reads and can work with, and refuses the rest', async () => {
    for (const size of ['1GB', '1 GB', '1gb', '2GiB', '512MB', '16MB', '1.5GB', '.5GB', '1T', '4g', '1 G']) {
      expect(validate(MEMORY_LIMIT, size).issues, size).toBeUndefined()
      const instance = await DuckDBInstance.create(':memory:', {memory_limit: size})
      const connection = await instance.connect()
      // A table and a sort: the least work a command does.
      await connection.run('CREATE TABLE t AS SELECT range AS x FROM range(100000) ORDER BY x DESC')
      connection.closeSync()
      instance.closeSync()
    }

    // Text DuckDB cannot read (it says only "Failed to set config"), sizes too small to work with
    // (it fails later, out of memory), and `none` (no limit: k2ops asks for a size on purpose).
    for (const size of ['1000', '80%', 'abc', '10GBs', '1000b', '10MB', '0GB', 'none', '-1']) expect(validate(MEMORY_LIMIT, size).issues, size).toBeDefined()
  })
})

describe('the retry policy of a deployment', () => {
  it('takes retryBackoff, retryJitterSeconds and retryOn, and never lets a data error be retried', async () => {
    const {loadDeployments} = await import('../../src/pipeline/deployments.js')
    const [oneMinute] = loadDeployments({'ohlcv-1m-scheduled': {retryBackoff: 2, retryJitterSeconds: 5, retryOn: ['busy']}})
    expect(oneMinute).toMatchObject({retryBackoff: 2, retryJitterSeconds: 5, retryOn: ['busy']})
    // Defaults: the same delay every time, no jitter; a busy warehouse and an engine that did not start are retried.
    expect(loadDeployments(undefined)[1]).toMatchObject({retryBackoff: 1, retryJitterSeconds: 0, retryOn: ['busy', 'engine']})
    expect(() => loadDeployments({'ohlcv-1m-scheduled': {retryOn: ['data']}})).toThrow(
      'config.json: deployments.ohlcv-1m-scheduled.retryOn.0: "data" is not allowed: a list of busy, engine, other (a data error is never retried)',
    )
    expect(() => loadDeployments({'ohlcv-1m-scheduled': {retryBackoff: 0.5}})).toThrow(/retryBackoff: 0\.5 is not allowed: a factor from 1/)
  })
})
