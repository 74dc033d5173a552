/**
 * Waiting until something is true, with a deadline and an interrupt: the one polling loop the
 * CLI (and the tests' server helpers) use. It replaces p-wait-for 6, whose pause between
 * attempts adds an abort listener to the deadline's signal and removes it only when the signal
 * fires: every wait of more than ten attempts leaked listeners and made Node warn
 * MaxListenersExceededWarning. Here the pause is Node's own abortable timer, which removes its
 * listener when it ends, and the deadline is a time, not a signal.
 */
import { setTimeout as pause } from 'node:timers/promises';

export class TimeoutError extends Error {
  constructor(message = 'Promise timed out') {
    super(message);
    this.name = 'TimeoutError';
  }
}

const RESOLVED = Symbol('resolved');
interface Resolved<T> {
  [RESOLVED]: true;
  value: T;
}

export interface WaitForOptions {
  /** Pause between attempts, in ms (default 20). */
  interval?: number;
  /** Give up after this long: a TimeoutError (with `message`, when given). */
  timeout?: number | { milliseconds: number; message?: string };
  /** Try at once (default), or pause first. */
  before?: boolean;
  /** Stops the wait: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

type Condition<T> = () => boolean | Resolved<T> | Promise<boolean | Resolved<T>>;

function isResolved<T>(value: unknown): value is Resolved<T> {
  return typeof value === 'object' && value !== null && RESOLVED in value;
}

async function waitForImpl<T = void>(condition: Condition<T>, options: WaitForOptions = {}): Promise<T> {
  const interval = options.interval ?? 20;
  const ms = typeof options.timeout === 'number' ? options.timeout : (options.timeout?.milliseconds ?? Number.POSITIVE_INFINITY);
  const message = typeof options.timeout === 'object' ? options.timeout.message : undefined;
  const deadline = Date.now() + ms;
  const { signal } = options;
  const rest = async (wait: number) => {
    try {
      await pause(wait, undefined, signal ? { signal } : undefined);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    }
  };

  if (options.before === false) await rest(interval);
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    const value = await condition();
    if (isResolved<T>(value)) return value.value;
    if (value === true) return undefined as T;
    if (value !== false) throw new TypeError('Expected the condition to return a boolean');
    const left = deadline - Date.now();
    if (left <= 0) throw new TimeoutError(message ?? `Promise timed out after ${ms} milliseconds`);
    await rest(Math.min(interval, left));
  }
}

/** Resolves when `condition` returns true (or `waitFor.resolveWith(value)`, with that value). */
export const waitFor = Object.assign(waitForImpl, {
  resolveWith: <T>(value: T): Resolved<T> => ({ [RESOLVED]: true, value }),
});
