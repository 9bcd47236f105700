import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'vitest'

import {k2ops} from './cli.js'

/** A home with one trade a day for 150 days: a backfill over them takes seconds (a day per transaction). */
export async function homeWithTrades(dir: string, env: Record<string, string>): Promise<string> {
  const home = join(dir, 'home')
  const tape = join(dir, 'BTCUSDT-trades-2024-06-01.csv')
  const first = Date.parse('2024-06-01T01:00:00Z')
  writeFileSync(tape, Array.from({length: 150}, (_, day) => `${1000 + day},61837.63,0.02,1236.75,${first + day * 86_400_000},True,True`).join('\n') + '\n')
  const ingest = await k2ops(['ingest', tape, '--home', home], env)
  expect(ingest.exitCode, ingest.stderr).toBe(0)
  return home
}
