import {spawn} from 'node:child_process'
import {dirname, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

import {BIN} from './cli.js'

export interface WarehouseHolder {
  pid: number
  /** Closes the warehouse and ends the holder. */
  release(): Promise<void>
}

/**
 * Another process that opens the warehouse read-write (through k2ops' own Warehouse class, so it
 * writes the holder note) and keeps it until released: what a long backfill looks like to others.
 */
export async function holdWarehouse(path: string, operation = 'test holder'): Promise<WarehouseHolder> {
  const warehouseModule = pathToFileURL(resolve(dirname(BIN), '../dist/pipeline/engine/duckdb/warehouse.js')).href
  const script = `
    import {Warehouse} from ${JSON.stringify(warehouseModule)}
    const warehouse = await Warehouse.open(process.argv[1], {operation: ${JSON.stringify(operation)}, lockTimeoutMs: 5000})
    process.stdin.on('end', () => { warehouse.close(); process.exit(0) })
    process.stdin.resume()
    process.stdout.write('held\\n')`
  const holder = spawn('node', ['--input-type=module', '-e', script, path], {stdio: ['pipe', 'pipe', 'pipe']})
  let errors = ''
  holder.stderr.on('data', (chunk) => (errors += chunk))
  const exited = new Promise<number | null>((done) => holder.on('exit', (code) => done(code)))
  await new Promise<void>((done, fail) => {
    holder.stdout.on('data', (chunk) => String(chunk).includes('held') && done())
    void exited.then(() => fail(new Error(`the holder exited before holding the warehouse: ${errors}`)))
  })
  return {
    pid: holder.pid!,
    async release() {
      holder.stdin.end()
      const code = await Promise.race([exited, new Promise((done) => setTimeout(() => done('timeout'), 5000))])
      if (code === 'timeout') holder.kill('SIGKILL')
    },
  }
}
