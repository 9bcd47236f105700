import type {ListrTask} from 'listr2'

/**
 * A listr2 task list that never touches stdout (results go there): the animated renderer on a
 * terminal, plain lines elsewhere (cron logs), nothing under --json.
 */
export async function runTasks<Ctx extends object>(tasks: Array<ListrTask<Ctx>>, options: {json: boolean; context: Ctx; concurrent?: boolean}): Promise<Ctx> {
  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr)})
  const list = new Listr<Ctx>(tasks, {
    ctx: options.context,
    concurrent: options.concurrent ?? false,
    exitOnError: true,
    // A SIGINT or SIGTERM is the run history's to handle: it records the open runs Cancelled.
    registerSignalListeners: false,
    silentRendererCondition: options.json,
    fallbackRendererCondition: !process.stderr.isTTY || Boolean(process.env.CI),
    rendererOptions: {logger, collapseSubtasks: false},
    fallbackRendererOptions: {logger, timestamp: undefined},
  })
  return list.run()
}

/** `[#####-----] 3/7` for a task's output line. */
export function progressBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.round((done / total) * width) : width
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`
}
