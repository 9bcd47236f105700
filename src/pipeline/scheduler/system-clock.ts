import type {Clock} from './types.js'

/** The system's time, for the daemon. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: sleepOnTimers,
}

/** setTimeout fires at once beyond 2^31-1 ms (about 24.8 days); longer sleeps wait in steps. */
const LONGEST_TIMER_MS = 2 ** 31 - 1

async function sleepOnTimers(ms: number, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + ms
  for (let remaining = ms; remaining > 0 && !signal?.aborted; remaining = until - Date.now()) {
    await timerStep(Math.min(remaining, LONGEST_TIMER_MS), signal)
  }
}

function timerStep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }

    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, {once: true})
  })
}
