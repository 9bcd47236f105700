import {DEPLOYMENT_COUNT, MAINTENANCE_DEPLOYMENT} from '../pipeline/config-schema.js'
import {findDaemon} from '../pipeline/scheduler/control.js'
import {CheckResult, checkResult, plural} from './check.js'

export interface SchedulerCheckOptions {
  stateDir: string
  logsDir: string
}

/**
 * The runbook's first two daily checks ("serve() process running", "Prefect server healthy"), for
 * k2ops' own daemon: its process, and its API with the six deployments. A scheduler that is simply
 * not started warns (flows then run only when triggered, e.g. from cron); one that died or stopped
 * answering fails.
 */
export async function schedulerChecks(options: SchedulerCheckOptions): Promise<CheckResult[]> {
  const found = findDaemon(options)
  const thresholds = null
  if (found.status === 'stopped') {
    const summary = 'the scheduler is not running: flows run only when triggered'
    return [
      checkResult({name: 'scheduler_process', status: 'warn', summary, unit: 'pid', thresholds, hint: 'k2ops scheduler start'}),
      checkResult({name: 'scheduler_api', status: 'warn', summary: 'no scheduler API (the scheduler is not running)', unit: 'ms', thresholds, hint: 'k2ops scheduler start'}),
    ]
  }

  const {daemon} = found
  if (found.status === 'dead') {
    const summary = `the scheduler is dead: pid ${daemon.pid} (started ${daemon.startedAt}) is gone and left its pid file`
    return [
      checkResult({name: 'scheduler_process', status: 'fail', summary, value: daemon.pid, unit: 'pid', thresholds, hint: 'k2ops scheduler start (it recovers the pid file and marks the runs it left Crashed)'}),
      checkResult({name: 'scheduler_api', status: 'fail', summary: 'no scheduler API (the scheduler is dead)', unit: 'ms', thresholds, hint: 'k2ops scheduler start'}),
    ]
  }

  const processCheck = checkResult({name: 'scheduler_process', status: 'pass', summary: `the scheduler runs: pid ${daemon.pid}, since ${daemon.startedAt}`, value: daemon.pid, unit: 'pid', thresholds})
  if (!daemon.port) {
    return [processCheck, checkResult({name: 'scheduler_api', status: 'fail', summary: `pid ${daemon.pid} runs but has no API port yet`, unit: 'ms', thresholds, hint: 'k2ops scheduler logs'})]
  }

  const {SchedulerClient} = await import('../pipeline/scheduler/api-client.js')
  const client = new SchedulerClient(daemon.port, undefined, 1500)
  const began = Date.now()
  try {
    const [health, snapshot] = await Promise.all([client.health(), client.deployments()])
    const ms = Date.now() - began
    const names = snapshot.deployments.map((deployment) => deployment.name)
    // Maintenance is paused by default on DuckDB (it is a checkpoint there): only a paused flow warns.
    const paused = snapshot.deployments.filter((deployment) => deployment.paused && deployment.name !== MAINTENANCE_DEPLOYMENT).map((deployment) => deployment.name)
    const ok = health.ok && names.length === DEPLOYMENT_COUNT
    return [
      processCheck,
      checkResult({
        name: 'scheduler_api',
        status: ok ? (paused.length > 0 ? 'warn' : 'pass') : 'fail',
        summary: ok
          ? `API on 127.0.0.1:${daemon.port} answered in ${ms} ms; ${plural(names.length, 'deployment')}${paused.length > 0 ? `, paused: ${paused.join(', ')}` : ''}`
          : `API on 127.0.0.1:${daemon.port} lists ${plural(names.length, 'deployment')}, not ${DEPLOYMENT_COUNT}`,
        value: ms,
        unit: 'ms',
        thresholds,
        evidence: paused.map((name) => ({deployment: name, paused: 'yes'})),
        hint: paused.length > 0 ? `k2ops deployments resume ${paused[0]}` : null,
      }),
    ]
  } catch (error) {
    return [
      processCheck,
      checkResult({name: 'scheduler_api', status: 'fail', summary: (error as Error).message, unit: 'ms', thresholds, hint: 'k2ops scheduler logs; k2ops scheduler stop && k2ops scheduler start'}),
    ]
  }
}
