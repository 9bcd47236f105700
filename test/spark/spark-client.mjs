// A k2ops command as the Spark tests need one: a separate process that connects to the target's
// driver (starting it if needed), prints `connected <driver pid>`, runs the SQL of argv[3] (if any)
// and prints `result <json>`; with `hold`, it then waits for stdin to close.
const [home, sessionModule, homeModule, sql, hold] = process.argv.slice(2)
const {SparkSession} = await import(sessionModule)
const {resolveHome} = await import(homeModule)
const session = await SparkSession.connect(resolveHome({home, defaultDir: home}))
const {pid} = await session.ping()
process.stdout.write(`connected ${pid}\n`)
if (sql) {
  const pending = session.sql(sql)
  process.stdout.write('sent\n')
  process.stdout.write(`result ${JSON.stringify(await pending)}\n`)
}
if (hold === 'hold') await new Promise((done) => process.stdin.on('end', done).resume())
session.close()
