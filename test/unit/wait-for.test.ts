import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TimeoutError, waitFor } from '../../src/wait-for.js';

describe('waitFor', () => {
  it('leaves no listener on the signal, however many attempts it makes', async () => {
    const controller = new AbortController();
    let attempts = 0;
    await waitFor(async () => ++attempts >= 30, { interval: 1, timeout: 10_000, signal: controller.signal });
    expect(attempts).toBe(30);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('resolves with a value, times out with its message, and stops on abort with the reason', async () => {
    await expect(waitFor(async () => waitFor.resolveWith(42), { interval: 1 })).resolves.toBe(42);
    await expect(waitFor(async () => false, { interval: 5, timeout: { milliseconds: 30, message: 'never' } })).rejects.toEqual(new TimeoutError('never'));
    const controller = new AbortController();
    const reason = new Error('stop');
    const wait = waitFor(async () => false, { interval: 10_000, signal: controller.signal });
    controller.abort(reason);
    await expect(wait).rejects.toBe(reason);
  });
});
