import type {RunRecord} from '../run-history.js'

import {K2Error, ExitCode} from '../errors.js'

/** A deployment as GET /api/deployments shows it (the runner's DeploymentState, as JSON). */
export interface ApiDeployment {
  name: string
  flow: string
  timeframe: string
  cron: string
  paused: boolean
  nextRun: string | null
  lastRun: RunRecord | null
}

/** Talks to the daemon's API on 127.0.0.1 (undici; loaded only by the commands that call it). */
export class SchedulerClient {
  constructor(
    private readonly port: number,
    private readonly token?: string,
    private readonly timeoutMs = 2000,
  ) {}

  health(): Promise<{ok: boolean; version: string; pid: number; uptimeSeconds: number}> {
    return this.call('GET', '/api/health')
  }

  deployments(): Promise<{deployments: ApiDeployment[]; running: RunRecord | null; queue: RunRecord[]}> {
    return this.call('GET', '/api/deployments')
  }

  flowRun(id: string): Promise<{flow_run: RunRecord}> {
    return this.call('GET', `/api/flow_runs/${encodeURIComponent(id)}`)
  }

  run(deployment: string): Promise<{flow_run: RunRecord}> {
    return this.call('POST', `/api/deployments/${encodeURIComponent(deployment)}/run`, {})
  }

  /** Queued: Cancelled at once (200); running: being stopped (202), poll flowRun until it ends. */
  cancel(id: string, by: string): Promise<{flow_run: RunRecord; wasRunning: boolean}> {
    return this.call('POST', `/api/flow_runs/${encodeURIComponent(id)}/cancel`, {by})
  }

  /** A managed backfill's ledger was saved queued: the scheduler runs its days when idle. */
  submitBackfill(id: string): Promise<{backfill: string}> {
    return this.call('POST', `/api/backfills/${encodeURIComponent(id)}`, {})
  }

  shutdown(timeoutSeconds: number): Promise<{ok: boolean}> {
    return this.call('POST', '/api/shutdown', {timeoutSeconds})
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const {request} = await import('undici')
    const headers: Record<string, string> = {'content-type': 'application/json'}
    if (this.token) headers.authorization = `Bearer ${this.token}`
    let response
    try {
      response = await request(`http://127.0.0.1:${this.port}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      })
    } catch (error) {
      throw new K2Error(`the scheduler's API on 127.0.0.1:${this.port} did not answer (${(error as Error).message})`, {code: 'scheduler_unreachable', exit: ExitCode.failed})
    }

    const text = await response.body.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = {error: text}
    }

    if (response.statusCode >= 400) {
      const message = (parsed as {error?: string}).error ?? `HTTP ${response.statusCode}`
      throw new K2Error(`scheduler API ${method} ${path}: ${response.statusCode} ${message}`, {
        code: response.statusCode === 404 ? 'not_found' : response.statusCode === 409 ? 'conflict' : 'scheduler_api_error',
        exit: response.statusCode === 404 ? ExitCode.usage : ExitCode.failed,
      })
    }

    return parsed as T
  }
}
