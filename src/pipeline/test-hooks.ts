/**
 * Test hooks: places where a test needs a real process to stop, so that it can be killed exactly
 * there. Not a user feature and not documented for users; without the variable, nothing happens.
 *
 * `K2OPS_TEST_PAUSE_AT=<point>`: at that point the process writes `k2ops test hook: paused at
 * <point>` to stderr and waits until it is killed. Points: `after-checkpoint` (retention: the
 * deletions are committed and checkpointed, the outcome not yet recorded), `after-repair` (recover:
 * every range is rebuilt and checked, the outcome not yet recorded), `after-backfill-day` (backfill: its
 * first day is committed and kept in the ledger, the others not started), `after-export-chunk`
 * (candles export: a chunk is written to the partial file).
 */
export async function pauseForTest(point: 'after-checkpoint' | 'after-repair' | 'after-backfill-day' | 'after-export-chunk'): Promise<void> {
  if (process.env.K2OPS_TEST_PAUSE_AT !== point) return
  process.stderr.write(`k2ops test hook: paused at ${point}\n`)
  // A timer keeps the event loop (and the process) alive until the test kills it.
  await new Promise(() => setInterval(() => {}, 60_000))
}
