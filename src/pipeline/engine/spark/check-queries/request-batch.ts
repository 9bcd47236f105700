import type {SparkResult, SparkSql} from '../spark-engine.js'

interface Ask {
  statements: string[]
  settle: (results: SparkResult[] | Error) => void
}

/**
 * Gathers the queries a check command asks for in the same turn of the event loop into one driver
 * request (DataLoader style): a Spark request costs a round trip and a job per statement, so a
 * command that asks for all of its figures up front pays for one request. Each asker gets the
 * results of its own statements; a failed request fails every asker with its error.
 */
export class RequestBatch {
  private pending: Ask[] = []

  constructor(private readonly session: SparkSql) {}

  /** Runs `statements` in the next request and reads their results with `read`. */
  ask<T>(statements: string[], read: (results: SparkResult[]) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush())
      this.pending.push({
        statements,
        settle(results) {
          if (results instanceof Error) return reject(results)
          try {
            resolve(read(results))
          } catch (error) {
            reject(error)
          }
        },
      })
    })
  }

  private async flush(): Promise<void> {
    const asks = this.pending
    this.pending = []
    let results: SparkResult[]
    try {
      results = await this.session.sql(asks.flatMap((ask) => ask.statements))
    } catch (error) {
      for (const ask of asks) ask.settle(error as Error)
      return
    }

    let at = 0
    for (const ask of asks) {
      ask.settle(results.slice(at, at + ask.statements.length))
      at += ask.statements.length
    }
  }
}
