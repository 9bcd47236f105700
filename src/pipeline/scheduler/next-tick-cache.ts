import {type Deployment, nextRunTimes} from '../deployments.js'

/**
 * Each deployment's next tick, kept until it passes or the cron changes: croner takes about 0.1 ms
 * per evaluation in UTC, and the tick loop asks every minute for every deployment (in the tests,
 * for 48 simulated hours).
 */
export class NextTickCache {
  private readonly byName = new Map<string, {cron: string; after: number; next: number}>()

  /** The first tick of the deployment's cron after `after` (exclusive); Infinity when there is none. */
  after(deployment: Deployment, after: number): number {
    const known = this.byName.get(deployment.name)
    // No tick lies in (known.after, known.next), so any `after` in [known.after, known.next) has the same next tick.
    if (known && known.cron === deployment.cron && known.after <= after && after < known.next) return known.next
    const next = nextRunTimes(deployment.cron, after)[0] ?? Number.POSITIVE_INFINITY
    this.byName.set(deployment.name, {cron: deployment.cron, after, next})
    return next
  }
}
