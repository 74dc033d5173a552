/**
 * Waits for a promise unless the signal aborts first. For work that cannot be cancelled
 * itself (a download, a library call without a signal): the command stops waiting and
 * reports the interrupt, and the abandoned work finishes or fails unobserved.
 */
import { InterruptedError } from './errors.js';

export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new InterruptedError(`Interrupted before ${what}.`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new InterruptedError(`Interrupted while waiting to ${what}.`));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
