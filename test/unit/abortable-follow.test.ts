import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { withFollowingSignal } from '../../src/abortable.js';

/** Like the Pulumi Automation API's command runner: one abort listener per call, never removed. */
const leakyCall = (signal: AbortSignal | undefined, seen: string[]) => {
  signal?.addEventListener('abort', () => seen.push('aborted'));
  return Promise.resolve('ok');
};

describe('withFollowingSignal', () => {
  it('keeps a library’s unremoved listeners off the command’s signal, however many calls run', async () => {
    const command = new AbortController();
    const seen: string[] = [];
    for (let i = 0; i < 25; i++) expect(await withFollowingSignal(command.signal, (s) => leakyCall(s, seen))).toBe('ok');
    expect(getEventListeners(command.signal, 'abort')).toHaveLength(0);
    command.abort();
    expect(seen).toEqual([]);
  });

  it('aborts the call’s signal, with the reason, when the command is interrupted during the call', async () => {
    const command = new AbortController();
    const reason = new Error('SIGINT');
    const result = withFollowingSignal(command.signal, (s) => new Promise<unknown>((resolve) => s!.addEventListener('abort', () => resolve(s!.reason))));
    command.abort(reason);
    expect(await result).toBe(reason);
    expect(getEventListeners(command.signal, 'abort')).toHaveLength(0);
  });

  it('hands an already aborted signal to a call started after the interrupt, and none when there is no signal', async () => {
    const command = new AbortController();
    command.abort();
    expect(await withFollowingSignal(command.signal, async (s) => s?.aborted)).toBe(true);
    expect(await withFollowingSignal(undefined, async (s) => s)).toBeUndefined();
  });
});
