/** `recover --full --json`'s steps as `name status`, in order. */
export function stepStatuses(json: {steps: Array<{name: string; status: string}>}): string[] {
  return json.steps.map((step) => `${step.name} ${step.status}`)
}

/** The steps of a full recovery that stopped at the integrity check: nothing after it ran. */
export const STOPPED_AT_INTEGRITY = ['stop-scheduler pass', 'warehouse-integrity fail', 'start-scheduler skipped', 'scheduler-api skipped', 'run-1m skipped', 'health-daily skipped']
