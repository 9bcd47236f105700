import type {Clock} from '../../src/pipeline/scheduler/types.js'

interface Sleeper {
  due: number
  /** Registration order: sleepers due at the same time wake in the order they went to sleep. */
  order: number
  wake: () => void
}

/**
 * A Clock whose time moves only when the test says so. `advanceTo` wakes the due sleepers one at a
 * time, in time order, and lets the promise chains they start settle before the next, so what runs
 * at 00:05:00 has happened before anything at 00:05:01 looks. Days of schedule run in milliseconds.
 */
export class FakeClock implements Clock {
  private current: number
  private sleepers: Sleeper[] = []
  private registered = 0

  constructor(start: number | string) {
    this.current = toMs(start)
  }

  now(): number {
    return this.current
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        due: this.current + ms,
        order: this.registered++,
        wake: () => {
          this.sleepers = this.sleepers.filter((other) => other !== sleeper)
          signal?.removeEventListener('abort', sleeper.wake)
          resolve()
        },
      }
      this.sleepers.push(sleeper)
      signal?.addEventListener('abort', sleeper.wake, {once: true})
    })
  }

  /** Moves time forward to `target`, waking every sleeper due by then in time order. */
  async advanceTo(target: number | string): Promise<void> {
    const targetMs = toMs(target)
    if (targetMs < this.current) throw new Error(`FakeClock: cannot go back from ${new Date(this.current).toISOString()} to ${new Date(targetMs).toISOString()}`)
    await this.settle()
    for (let next = this.nextDue(targetMs); next; next = this.nextDue(targetMs)) {
      this.current = Math.max(this.current, next.due)
      next.wake()
      await this.settle()
    }

    this.current = targetMs
    await this.settle()
  }

  advanceBy(ms: number): Promise<void> {
    return this.advanceTo(this.current + ms)
  }

  /** Lets pending promise chains run without moving time. */
  async settle(): Promise<void> {
    // Everything the runner and the fake executors do between sleeps is microtasks and synchronous
    // file writes: one macrotask turn drains them; a few more leave room for a stray callback.
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve))
  }

  /** How many sleeps are pending (a runner that stopped leaves none). */
  get pendingSleeps(): number {
    return this.sleepers.length
  }

  private nextDue(targetMs: number): Sleeper | undefined {
    let earliest: Sleeper | undefined
    for (const sleeper of this.sleepers) {
      if (sleeper.due > targetMs) continue
      if (!earliest || sleeper.due < earliest.due || (sleeper.due === earliest.due && sleeper.order < earliest.order)) earliest = sleeper
    }

    return earliest
  }
}

function toMs(time: number | string): number {
  return typeof time === 'number' ? time : Date.parse(time)
}
