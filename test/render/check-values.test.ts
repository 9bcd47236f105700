import {describe, expect, it} from 'vitest'

import {checkResult} from '../../src/checks/check.js'
import {formatValue} from '../../src/render/checks.js'
import {plural} from '../../src/pipeline/words.js'

describe('numbers for people', () => {
  it('a pid is an identifier: never a thousands separator', () => {
    const check = checkResult({name: 'scheduler_process', status: 'pass', summary: 'the scheduler runs', value: 1_234_567, unit: 'pid', thresholds: {warn: null, fail: null}})
    expect(formatValue(check)).toBe('1234567')
  })

  it('quantities keep the separator, and the noun agrees with the count', () => {
    expect(plural(1, 'range')).toBe('1 range')
    expect(plural(0, 'range')).toBe('0 ranges')
    expect(plural(12_345, 'bad row')).toBe('12,345 bad rows')
  })
})
