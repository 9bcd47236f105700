import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {PRICE_INTEGER_DIGITS, QUANTITY_INTEGER_DIGITS, bigintProblem, decimalProblem} from '../../../src/pipeline/ingest/decimal-text.js'
import {normaliseSymbol, symbolFromFileName} from '../../../src/pipeline/ingest/market-names.js'
import {detectLayout, normaliseHeaderName} from '../../../src/pipeline/ingest/tape-format.js'
import {contractMicrosProblemSql, decimalProblemSql} from '../../../src/pipeline/engine/duckdb/ingest/parser-sql.js'
import {binanceTimeMicros, contractMicros, unixSecondsTextMicros} from '../../../src/pipeline/ingest/time-text.js'
import {Warehouse} from '../../../src/pipeline/engine/duckdb/warehouse.js'
import {useTempDir} from '../../helpers/temp-home.js'

const tempDir = useTempDir('k2ops-values-')

describe('decimal text', () => {
  it('accepts plain positive decimals that fit', () => {
    for (const ok of ['61837.63000000', '4', '0.006', '0001.5', '0.00000001', '9999999999.99999999', '1.100000000000000000']) {
      expect(decimalProblem(ok, PRICE_INTEGER_DIGITS), ok).toBeUndefined()
    }

    expect(decimalProblem('1000000000000', QUANTITY_INTEGER_DIGITS)).toBeUndefined()
    expect(decimalProblem('999999999999999999999999999999.99999999', QUANTITY_INTEGER_DIGITS)).toBeUndefined()
  })

  it('says what is wrong', () => {
    expect(decimalProblem('', 10)).toBe('is empty')
    expect(decimalProblem('abc', 10)).toBe("'abc' is not a decimal number")
    expect(decimalProblem('1e12', 10)).toBe("'1e12' is not a decimal number")
    expect(decimalProblem('.5', 10)).toBe("'.5' is not a decimal number")
    expect(decimalProblem('5.', 10)).toBe("'5.' is not a decimal number")
    expect(decimalProblem(' 5', 10)).toBe("' 5' is not a decimal number")
    expect(decimalProblem('NaN', 10)).toBe("'NaN' is not a decimal number")
    expect(decimalProblem('-1.5', 10)).toBe("must be > 0, got '-1.5'")
    expect(decimalProblem('0', 10)).toBe("must be > 0, got '0'")
    expect(decimalProblem('0.00000000', 10)).toBe("must be > 0, got '0.00000000'")
    expect(decimalProblem('0.123456789', 10)).toBe("'0.123456789' has more than 8 decimal places")
    expect(decimalProblem('12345678901', 10)).toBe("'12345678901' has more than 10 integer digits")
    expect(decimalProblem('1'.repeat(31), 30)).toBe(`'${'1'.repeat(31)}' has more than 30 integer digits`)
  })

  it('the SQL twin (for Parquet) gives the same verdicts', async () => {
    const dir = tempDir()
    const warehouse = await Warehouse.open(join(dir, 'w.duckdb'), {operation: 'test', lockTimeoutMs: 1000, create: true})
    try {
      const inputs = ['61837.63000000', '4', '', 'abc', '1e12', '-1.5', '0', '0.000', '0.123456789', '12345678901', '0001.5', '5.', '.5', '1.10000000000']
      for (const text of inputs) {
        const row = await warehouse.one<{p: string | null}>(`SELECT (${decimalProblemSql('$t', 10)}) AS p`, {t: text})
        expect(row.p ?? undefined, text).toBe(decimalProblem(text, 10))
      }

      for (const text of ['1723161255342123', '1723161255342', '-5', '0', 'x', '']) {
        const row = await warehouse.one<{p: string | null}>(`SELECT (${contractMicrosProblemSql('$t')}) AS p`, {t: text})
        const js = contractMicros(text)
        expect(row.p ?? undefined, text).toBe(typeof js === 'number' ? undefined : js)
      }
    } finally {
      warehouse.close()
    }
  })

  it('whole numbers for trade ids fit BIGINT', () => {
    expect(bigintProblem('5266583935')).toBeUndefined()
    expect(bigintProblem('9223372036854775807')).toBeUndefined()
    expect(bigintProblem('9223372036854775808')).toBe("'9223372036854775808' is too large")
    expect(bigintProblem('12a')).toBe("'12a' is not a whole number")
  })
})

describe('trade times', () => {
  it('Binance: the unit is decided per value (ms below 1e15, µs from it)', () => {
    expect(binanceTimeMicros('1723161255342')).toBe(1_723_161_255_342_000)
    expect(binanceTimeMicros('1735689600123456')).toBe(1_735_689_600_123_456)
    expect(binanceTimeMicros('0')).toBe("must be > 0, got '0'")
    expect(binanceTimeMicros('17231612553420')).toMatch(/neither milliseconds/)
    expect(binanceTimeMicros('2024-08-08')).toMatch(/not a whole number/)
    expect(binanceTimeMicros('17351689600123456')).toMatch(/out of range/)
  })

  it('Kraken: fractional seconds are kept to the µs from the text', () => {
    expect(unixSecondsTextMicros('1672531436')).toBe(1_672_531_436_000_000)
    expect(unixSecondsTextMicros('1672531436.1234')).toBe(1_672_531_436_123_400)
    expect(unixSecondsTextMicros('1672531436.123456000')).toBe(1_672_531_436_123_456)
    expect(unixSecondsTextMicros('1672531436.1234567')).toMatch(/finer than a microsecond/)
    expect(unixSecondsTextMicros('1.6e9')).toMatch(/not a number of seconds/)
  })

  it('k2: 16-digit microseconds', () => {
    expect(contractMicros('1723161255342123')).toBe(1_723_161_255_342_123)
    expect(contractMicros('1723161255342')).toMatch(/not microseconds/)
    expect(contractMicros('-1')).toBe("must be > 0, got '-1'")
  })
})

describe('tape format detection', () => {
  const layout = (line: string) => {
    const d = detectLayout(line.split(','))
    return 'layout' in d ? d.layout : 'problem' in d ? d.problem : `klines: ${d.klines}`
  }

  it('tells the layouts apart by header names, column count and booleans', () => {
    expect(layout('3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342,True,True')).toMatchObject({format: 'binance', futures: false, defaultExchange: 'BINANCE'})
    expect(layout('5266583935,61800.30,0.006,370.8018,1723161256322,false')).toMatchObject({format: 'binance', futures: true})
    expect(layout('13519807,0.00141342,23.00000000,15373518,15373518,1570752011620,True,True')).toMatchObject({format: 'binance-agg', futures: false})
    expect(layout('13519807,0.00141342,23.0,15373518,15373518,1570752011620,true')).toMatchObject({format: 'binance-agg', futures: true})
    expect(layout('1672531436,90.540000,1.10448420')).toMatchObject({format: 'kraken', defaultExchange: 'KRAKEN'})
    expect(layout('id,price,qty,time,is_buyer_maker,type')).toMatchObject({format: 'binance', futures: true, hasHeader: true, columns: {type: 5}})
    expect(layout('id,price,qty,time,is_buyer_maker,is_best_match')).toMatchObject({format: 'binance', futures: false})
    expect(layout('id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch')).toMatchObject({format: 'binance', futures: false, columns: {time: 4, buyerMaker: 5}})
    expect(layout('agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker')).toMatchObject({format: 'binance-agg', futures: true})
    expect(layout('trade_id,symbol,exchange,timestamp,price,quantity,side')).toMatchObject({format: 'k2', columns: {side: 6}})
  })

  it('tells klines (candles) from trades, headerless or with a header', () => {
    expect(layout('1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.2,1637971259999,1.03547608,79,19523.0,0.55694227,0')).toMatch(/^klines: no header, 12 columns/)
    expect(layout('open_time,open,high,low,close,volume')).toBe('klines: header open_time,open,high,low,close,volume')
  })

  it('says what it saw when it cannot tell', () => {
    expect(layout('1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.2,1637971259999,1.03547608,79,19523.0,0.55694227')).toMatch(/^first line has 11 columns, no header: 1637971200000,/)
    expect(layout('open_time,price,volume')).toBe('header open_time,price,volume')
    expect(layout('id,price,qty,time')).toMatch(/needs is_buyer_maker/)
  })

  it('normalises header names', () => {
    expect(normaliseHeaderName(' isBuyerMaker ')).toBe('is_buyer_maker')
    expect(normaliseHeaderName('aggTradeId')).toBe('agg_trade_id')
    expect(normaliseHeaderName('quote_qty')).toBe('quote_qty')
  })
})

describe('names', () => {
  it('takes the symbol from Binance-style file names only', () => {
    expect(symbolFromFileName('/x/BTCUSDT-trades-2024-08-08.csv')).toBe('BTCUSDT')
    expect(symbolFromFileName('XRPETH-aggTrades-2019-10-11.zip')).toBe('XRPETH')
    expect(symbolFromFileName('BTCUSDT-usdm-trades_2024-08-08T235416Z.csv')).toBe('BTCUSDT')
    expect(symbolFromFileName('BTCUSD_PERP-cm-trades_2024.csv')).toBe('BTCUSD_PERP')
    expect(symbolFromFileName('kraken_BCHEUR_trades_part1.csv')).toBeUndefined()
    expect(symbolFromFileName('trades.csv')).toBeUndefined()
    expect(symbolFromFileName('2024-08-08.csv')).toBeUndefined()
  })

  it('normalises symbols', () => {
    expect(normaliseSymbol('bch/eur')).toBe('BCHEUR')
    expect(normaliseSymbol('BTC-USDT')).toBe('BTCUSDT')
  })
})
