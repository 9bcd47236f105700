/**
 * `read`, except that once it has succeeded a failure returns the last good value instead of
 * throwing; `onError` hears each distinct error message once (a config file in the middle of an
 * edit must not stop the scheduler, nor fill its log). Before a first success, failures throw.
 */
export function keepLastGood<T>(read: () => T, onError: (message: string) => void): () => T {
  let lastGood: {value: T} | undefined
  let lastError: string | undefined
  return () => {
    try {
      lastGood = {value: read()}
      lastError = undefined
    } catch (error) {
      if (!lastGood) throw error
      const message = (error as Error).message
      if (message !== lastError) onError(message)
      lastError = message
    }

    return lastGood.value
  }
}
