/**
 * What the shared-state suites (S3: shared-state.test.ts, GCS: shared-state-gcs.test.ts) do
 * alike against their real bucket servers: processes racing for one instance lock, the lock a
 * machine that is gone left, and two machines writing the secret store at once.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { DiyStore } from '../../src/pulumi/diy-store.js';
import { SecretStore } from '../../src/state/secret-store.js';
import { LOCK_CONTENDER, start, type Running } from '../fault/helpers.js';

/**
 * Starts `n` lock contenders on the shared state `stateUrl`, lets them go at once, and returns
 * their WON/LOST lines. `track` keeps them for the suite's cleanup.
 */
export async function raceForLock(o: { work: string; env: Record<string, string>; stateUrl: string; n: number; track: (r: Running) => Running }) {
  const dir = await mkdtemp(join(o.work, 'race-'));
  const contenders = Array.from({ length: o.n }, () => o.track(start(LOCK_CONTENDER, [dir], { ...o.env, LOCK_STATE: o.stateUrl })));
  await Promise.all(contenders.map((c) => c.waitForLine(/^READY$/)));
  await writeFile(join(dir, 'go'), '');
  const results = await Promise.all(contenders.map((c) => c.waitForLine(/^(WON|LOST) /, 30_000)));
  return { dir, contenders, results, release: () => writeFile(join(dir, 'release'), '') };
}

/** The lock of instance `race` as a machine that is gone left it: same host name, another boot, a 1.5 s lease. */
export function lockOfAGoneMachine(stateUrl: string) {
  return {
    holder: `lookout upgrade race --state ${stateUrl}`,
    command: 'upgrade',
    instance: 'race',
    hostname: hostname(), // the same name, but another machine
    pid: 311,
    bootId: 'a-machine-that-is-gone',
    pidNamespace: 'pid:[4026531836]',
    processStart: '100',
    startedAt: '2026-03-02T10:15:07.123Z',
    token: 'gone',
    leaseMs: 1_500,
    renewedAt: '2026-03-02T10:20:07.123Z',
    renewals: 20,
  };
}

/** Two machines read the (empty) secret store, then each writes its own secret: both are kept. */
export async function expectBothSecretsKept(store: DiyStore): Promise<void> {
  const a = new SecretStore(store, 'prod', 'pw');
  const b = new SecretStore(store, 'prod', 'pw');
  await Promise.all([a.get('x'), b.get('x')]);
  await b.set('certificate.key', 'B-KEY');
  await a.set('acme.accountKey', 'A-KEY');
  const fresh = new SecretStore(store, 'prod', 'pw');
  expect(await fresh.get('certificate.key')).toBe('B-KEY');
  expect(await fresh.get('acme.accountKey')).toBe('A-KEY');
}

type Race = Awaited<ReturnType<typeof raceForLock>>;

/** Of `n` processes that go at once for a free lock, exactly one wins; the others are told who holds it; release frees it. */
export async function expectExactlyOneTakesAFreeLock(o: { race: (n: number) => Promise<Race>; n: number; lockText: () => Promise<string | undefined> }) {
  const { dir, contenders, results, release } = await o.race(o.n);
  const winners = results.filter((r) => r.startsWith('WON '));
  expect(winners, results.join('\n')).toHaveLength(1);
  const token = winners[0]!.split(' ')[1];
  const winner = contenders[results.indexOf(winners[0]!)]!;
  for (const lost of results.filter((r) => r.startsWith('LOST '))) {
    expect(lost).toContain(`locked by another lookout run: \`lock-contender.mjs ${dir}\` (PID ${winner.child.pid} on ${hostname()}`);
  }
  expect(JSON.parse((await o.lockText())!).token).toBe(token);
  await release();
  expect((await Promise.all(contenders.map((c) => c.finished))).map((f) => f.code).sort()).toEqual([0, ...Array(o.n - 1).fill(1)]);
  expect(await o.lockText()).toBeUndefined();
}

/**
 * The lock of a machine that is gone (its lease of 1.5 s long run out) is taken over by exactly
 * one of `n` processes, after watching it for a lease, with a warning that says so.
 */
export async function expectExactlyOneTakesOverAGoneLease(o: {
  stateUrl: string;
  placeLock: (text: string) => Promise<unknown>;
  race: (n: number) => Promise<Race>;
  n: number;
  lockText: () => Promise<string | undefined>;
}) {
  await o.placeLock(JSON.stringify(lockOfAGoneMachine(o.stateUrl)));
  const { contenders, results, release } = await o.race(o.n);
  const winners = results.filter((r) => r.startsWith('WON '));
  expect(winners, results.join('\n')).toHaveLength(1);
  const [, token, warnings] = winners[0]!.match(/^WON (\S+) (.*)$/)!;
  const said = JSON.parse(warnings!) as string[];
  expect(said[0]).toContain('last renewed');
  expect(said[0]).toContain('Watching it for 1s');
  expect(said.at(-1)).toMatch(/^Took over the stale lock of instance "race" held by `lookout upgrade race .*its lease ran out/);
  for (const lost of results.filter((r) => r.startsWith('LOST '))) expect(lost).toContain('locked by another lookout run');
  expect(JSON.parse((await o.lockText())!).token).toBe(token);
  await release();
  await Promise.all(contenders.map((c) => c.finished));
}
