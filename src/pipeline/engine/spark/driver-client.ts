import {Socket, createConnection} from 'node:net'

/** One connection to a running driver: JSON lines, one request at a time (spark/driver.py has the protocol). */
export class DriverConnection {
  private buffer = ''
  private pending?: {resolve: (answer: unknown) => void; reject: (error: Error) => void}
  private closedError?: Error

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8')
    // Only a request under way keeps the command alive: an idle connection never holds it open.
    socket.unref()
    socket.on('data', (chunk: string) => this.receive(chunk))
    socket.on('error', (error) => this.fail(error))
    socket.on('close', () => this.fail(new Error('the Spark driver closed the connection (it stopped or was killed)')))
  }

  /** Connects to the driver's socket; rejects when no driver listens there (ENOENT, ECONNREFUSED). */
  static open(path: string): Promise<DriverConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({path})
      const onError = (error: Error) => reject(error)
      socket.once('error', onError)
      socket.once('connect', () => {
        socket.off('error', onError)
        resolve(new DriverConnection(socket))
      })
    })
  }

  get closed(): boolean {
    return this.closedError !== undefined
  }

  /** Sends one request and waits for its answer line. */
  request<T>(request: object): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError)
    if (this.pending) return Promise.reject(new Error('one request at a time per connection'))
    return new Promise<T>((resolve, reject) => {
      this.pending = {resolve: resolve as (answer: unknown) => void, reject}
      this.socket.ref()
      this.socket.write(JSON.stringify(request) + '\n')
    })
  }

  close(): void {
    this.closedError ??= new Error('the connection to the Spark driver is closed')
    this.socket.destroy()
  }

  private receive(chunk: string): void {
    this.buffer += chunk
    for (let end = this.buffer.indexOf('\n'); end !== -1; end = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, end)
      this.buffer = this.buffer.slice(end + 1)
      const pending = this.pending
      this.pending = undefined
      if (!pending) continue
      this.socket.unref()
      try {
        pending.resolve(JSON.parse(line))
      } catch (error) {
        pending.reject(new Error(`the Spark driver answered something that is not JSON: ${(error as Error).message}`))
      }
    }
  }

  private fail(error: Error): void {
    this.closedError ??= error
    const pending = this.pending
    this.pending = undefined
    pending?.reject(error)
  }
}

/** Connects, or undefined when no driver listens on the path. */
export async function tryConnect(path: string): Promise<DriverConnection | undefined> {
  try {
    return await DriverConnection.open(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK') return undefined
    throw error
  }
}
