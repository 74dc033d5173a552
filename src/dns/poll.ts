/**
 * Asking again until something is true or a deadline passes: DNS propagation, a provider's
 * change status, a delegation. Built on waitFor; the deadline also ends an attempt in
 * flight, so a server that never answers cannot stretch the wait past it.
 */
import { InterruptedError } from '../errors.js';
import { waitFor as pWaitFor } from '../wait-for.js';

export interface PollTiming {
  /** Give up after this long. */
  deadlineMs: number;
  /** Pause between attempts. */
  intervalMs: number;
}

export type PollStep<T> = { done: true; value: T } | { done: false; observation: string };

export type PollOutcome<T> = { ok: true; value: T; attempts: number } | { ok: false; observation: string; attempts: number };

/**
 * Runs `attempt` until it reports done or the deadline passes. An attempt gets a signal that
 * ends at the deadline or on interrupt. Returns the last observation on timeout; throws
 * InterruptedError when `signal` fires.
 */
export async function pollUntil<T>(
  what: string,
  attempt: (signal: AbortSignal, attemptNumber: number) => Promise<PollStep<T>>,
  timing: PollTiming,
  signal?: AbortSignal,
): Promise<PollOutcome<T>> {
  const deadline = AbortSignal.timeout(Math.max(0, timing.deadlineMs));
  const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let observation = 'no answer yet';
  let attempts = 0;
  try {
    const value = await pWaitFor(
      async () => {
        attempts += 1;
        const step = await attempt(combined, attempts);
        if (step.done) return pWaitFor.resolveWith(step.value);
        // An attempt cut short by the deadline says nothing about the thing being watched.
        if (!deadline.aborted || attempts === 1) observation = step.observation;
        return false;
      },
      { interval: timing.intervalMs, before: true, signal: combined },
    );
    return { ok: true, value, attempts };
  } catch (err) {
    if (signal?.aborted) throw new InterruptedError(`Interrupted while waiting for ${what}.`);
    // The deadline ends the wait, or the attempt it cut short.
    if (deadline.aborted) return { ok: false, observation, attempts };
    throw err;
  }
}

export function describeDuration(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 6_000) / 10} min`;
}
