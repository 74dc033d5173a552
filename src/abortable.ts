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

/**
 * Runs `use` with a signal of its own that aborts when `signal` does, and stops following it
 * when `use` ends. For libraries that add an abort listener per call and never remove it (the
 * Pulumi Automation API does, once per engine command): their listeners land on the short-lived
 * signal, not on the command's, which would otherwise collect one per stack operation and leak.
 */
export async function withFollowingSignal<T>(signal: AbortSignal | undefined, use: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (!signal) return use(undefined);
  const own = new AbortController();
  const follow = (): void => own.abort(signal.reason);
  if (signal.aborted) own.abort(signal.reason);
  else signal.addEventListener('abort', follow, { once: true });
  try {
    return await use(own.signal);
  } finally {
    signal.removeEventListener('abort', follow);
  }
}
