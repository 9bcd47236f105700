/**
 * Calls `onGone` once when the process that started this one has ended. Node cannot ask the kernel
 * for a signal on the parent's death (PR_SET_PDEATHSIG), but a dead parent's children are handed to
 * init (or a subreaper) at once, so the parent pid changes: polled every `everyMs`. The timer does
 * not keep the process alive.
 */
export function watchParent(parentPid: number, onGone: () => void, everyMs = 250): () => void {
  const check = () => {
    if (process.ppid === parentPid) return
    clearInterval(timer)
    onGone()
  }

  const timer = setInterval(check, everyMs)
  timer.unref()
  // Spawned by a parent that died before this line: no change to wait for.
  queueMicrotask(check)
  return () => clearInterval(timer)
}
