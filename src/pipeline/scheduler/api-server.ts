import {timingSafeEqual} from 'node:crypto'
import {IncomingMessage, Server, ServerResponse, createServer} from 'node:http'
import {AddressInfo} from 'node:net'

import type {RunHistory, RunRecord} from '../run-history.js'
import type {EnqueueRequest, SchedulerLog} from './types.js'

import {K2Error} from '../errors.js'

/** What the API needs of the schedule runner. */
export interface RunnerApi {
  enqueue(request: EnqueueRequest): RunRecord
  cancel(id: string, by: string): {run: RunRecord; wasRunning: boolean} | undefined
  snapshot(): {running: RunRecord | null; queue: RunRecord[]; deployments: unknown[]}
}

export interface ApiOptions {
  runner: RunnerApi
  history: RunHistory
  token: string
  version: string
  startedAtMs: number
  log: SchedulerLog
  /** GET /metrics, in Prometheus' text format. */
  metrics: {text(): Promise<string>; contentType: string}
  /** POST /api/backfills/<id>: a managed backfill was queued; false when there is no such backfill. */
  backfillSubmitted?: (id: string) => boolean
  /** Asked by POST /api/shutdown: stop gracefully, cancelling a running flow after `timeoutSeconds`. */
  shutdown: (timeoutSeconds: number) => void
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const MAX_BODY_BYTES = 16 * 1024

/**
 * The daemon's local HTTP API, on 127.0.0.1 only. Reads are open to local processes; every POST
 * needs the bearer token from `<home>/state/scheduler.token` (0600). A bad request gets a 4xx with
 * `{"error": "..."}`; nothing a client sends can crash the daemon.
 */
export async function startApiServer(port: number, options: ApiOptions): Promise<Server> {
  const server = createServer((request, response) => {
    handle(request, response, options).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : error instanceof K2Error ? 404 : 500
      if (status === 500) options.log('error', 'api.error', {method: request.method, url: request.url, error: (error as Error).message})
      send(response, status, {error: status === 500 ? 'internal error' : (error as Error).message})
    })
  })
  server.requestTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return server
}

export function serverPort(server: Server): number {
  return (server.address() as AddressInfo).port
}

async function handle(request: IncomingMessage, response: ServerResponse, options: ApiOptions): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1')
  const path = url.pathname.replace(/\/+$/, '')
  const method = request.method ?? 'GET'
  if (path === '/api/health') {
    allow(method, 'GET')
    send(response, 200, {ok: true, version: options.version, pid: process.pid, uptimeSeconds: Math.round((Date.now() - options.startedAtMs) / 1000)})
    return
  }

  if (path === '/metrics') {
    allow(method, 'GET')
    const text = await options.metrics.text()
    response.writeHead(200, {'content-type': options.metrics.contentType, 'content-length': Buffer.byteLength(text)})
    response.end(text)
    return
  }

  if (path === '/api/deployments') {
    allow(method, 'GET')
    const snapshot = options.runner.snapshot()
    send(response, 200, {deployments: snapshot.deployments, running: snapshot.running, queue: snapshot.queue})
    return
  }

  if (path === '/api/flow_runs') {
    allow(method, 'GET')
    const limit = parseLimit(url.searchParams.get('limit'))
    send(response, 200, {flow_runs: options.history.list().slice(0, limit)})
    return
  }

  const runMatch = /^\/api\/flow_runs\/([\w-]+)$/.exec(path)
  if (runMatch) {
    allow(method, 'GET')
    const run = options.history.get(runMatch[1])
    if (!run) throw new HttpError(404, `no flow run ${runMatch[1]}`)
    send(response, 200, {flow_run: run})
    return
  }

  const cancelMatch = /^\/api\/flow_runs\/([\w-]+)\/cancel$/.exec(path)
  if (cancelMatch) {
    allow(method, 'POST')
    authorize(request, options.token)
    const body = await readJsonBody(request)
    const by = body.by ?? 'the scheduler API'
    if (typeof by !== 'string' || by.length === 0 || by.length > 200) throw new HttpError(400, 'by: expected a non-empty string of at most 200 characters')
    const outcome = options.runner.cancel(cancelMatch[1], by)
    if (!outcome) {
      const run = options.history.get(cancelMatch[1])
      if (!run) throw new HttpError(404, `no flow run ${cancelMatch[1]}`)
      throw new HttpError(409, `run ${run.id} is ${run.state}, not queued or running in this scheduler`)
    }

    options.log('info', 'api.cancel_requested', {id: outcome.run.id, deployment: outcome.run.deployment, by, wasRunning: outcome.wasRunning})
    send(response, outcome.wasRunning ? 202 : 200, {flow_run: outcome.run, wasRunning: outcome.wasRunning})
    return
  }

  const deploymentMatch = /^\/api\/deployments\/([\w.-]+)\/run$/.exec(path)
  if (deploymentMatch) {
    allow(method, 'POST')
    authorize(request, options.token)
    await readJsonBody(request)
    const run = options.runner.enqueue({deployment: decodeURIComponent(deploymentMatch[1]), trigger: 'manual'})
    options.log('info', 'api.run_requested', {deployment: run.deployment, id: run.id, state: run.state})
    // A deployment already queued or running is not queued twice: the request is recorded Skipped.
    if (run.state === 'Skipped') send(response, 409, {error: `${run.deployment}: ${run.note ?? 'queued or running already'}`, flow_run: run})
    else send(response, 201, {flow_run: run})
    return
  }

  const backfillMatch = /^\/api\/backfills\/([\w-]+)$/.exec(path)
  if (backfillMatch) {
    allow(method, 'POST')
    authorize(request, options.token)
    await readJsonBody(request)
    if (!options.backfillSubmitted?.(backfillMatch[1])) throw new HttpError(404, `no queued backfill ${backfillMatch[1]}`)
    options.log('info', 'api.backfill_submitted', {backfill: backfillMatch[1]})
    send(response, 202, {backfill: backfillMatch[1]})
    return
  }

  if (path === '/api/shutdown') {
    allow(method, 'POST')
    authorize(request, options.token)
    const body = await readJsonBody(request)
    const timeout = body.timeoutSeconds ?? 60
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) throw new HttpError(400, 'timeoutSeconds: expected a non-negative number')
    send(response, 202, {ok: true, timeoutSeconds: timeout})
    options.shutdown(timeout)
    return
  }

  throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`)
}

function allow(method: string, expected: string): void {
  if (method !== expected) throw new HttpError(405, `method ${method} not allowed here (use ${expected})`)
}

function authorize(request: IncomingMessage, token: string): void {
  const header = request.headers.authorization ?? ''
  const match = /^Bearer\s+(\S+)$/i.exec(header)
  if (!match) throw new HttpError(401, 'missing bearer token (Authorization: Bearer <token from <home>/state/scheduler.token>)')
  const given = Buffer.from(match[1])
  const expected = Buffer.from(token)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new HttpError(401, 'wrong bearer token')
}

function parseLimit(raw: string | null): number {
  if (raw === null) return 20
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 10_000) throw new HttpError(400, `limit: '${raw}' is not a number from 1 to 10000`)
  return Number(raw)
}

/** An empty body is `{}`; anything else must be a JSON object. */
async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }

  const text = Buffer.concat(chunks).toString('utf8').trim()
  if (!text) return {}
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new HttpError(400, 'body is not valid JSON')
  }

  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object')
  return body as Record<string, unknown>
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return
  const text = JSON.stringify(body)
  response.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text)})
  response.end(text)
}
