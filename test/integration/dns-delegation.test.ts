/**
 * The delegation check against a real bind9 serving a parent zone on loopback: the parent's
 * servers are asked directly for the NS records of the domain (a referral).
 */
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findParentZone, findZoneServers } from '../../src/dns/authoritative.js';
import { checkDelegation, waitForDelegation, type DelegationStatus } from '../../src/dns/delegation.js';
import { FailureError, InterruptedError } from '../../src/errors.js';
import { bind9Missing, startBind9, type Bind9 } from '../support/bind9.js';
import { freePort } from '../support/processes.js';

const missing = bind9Missing();
if (missing) console.warn(`SKIPPED dns delegation against bind9: ${missing}`);

const PARENT = 'example.test';
const CHILD_NS = ['ns-1.awsdns-01.org', 'ns-2.awsdns-02.net'];

describe.skipIf(Boolean(missing))(`dns delegation against bind9${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let bind: Bind9;

  beforeAll(async () => {
    bind = await startBind9({
      zones: [
        {
          name: PARENT,
          records: [
            // obs: delegated to the instance's name servers.
            ...CHILD_NS.map((ns) => `obs IN NS ${ns}.`),
            // stale: delegated elsewhere.
            'stale IN NS ns1.old-provider.test.',
            'stale IN NS ns-1.awsdns-01.org.',
            // something unrelated, so a name below the parent exists.
            'www IN A 127.0.0.1',
          ],
        },
      ],
    });
  });

  afterAll(async () => {
    await bind?.stop();
  });

  const parent = () => ({ zone: PARENT, servers: [bind.server] });
  const fast = { deadlineMs: 600, intervalMs: 30 };

  it('a live delegation is recognized, whatever the case and trailing dots', async () => {
    const status = await checkDelegation({
      domain: 'OBS.example.test.',
      expectedNameServers: ['NS-2.AWSDNS-02.NET.', 'ns-1.awsdns-01.org'],
      parent: parent(),
    });
    expect(status.delegated).toBe(true);
    expect(status.parentZone).toBe(PARENT);
    expect(status.views).toEqual([{ server: bind.server, nameServers: CHILD_NS }]);
    const waited = await waitForDelegation({ domain: 'obs.example.test', expectedNameServers: CHILD_NS, parent: parent(), wait: false, timing: fast });
    expect(waited.delegated).toBe(true);
  });

  it('a delegation to other servers fails at once under --yes, with the exact records to add and remove', async () => {
    const started = performance.now();
    const err = await waitForDelegation({
      domain: 'stale.example.test',
      expectedNameServers: CHILD_NS,
      parent: parent(),
      wait: false,
      timing: { deadlineMs: 60_000, intervalMs: 1_000 },
    }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(FailureError);
    const failure = err as FailureError;
    expect(failure.message).toContain('stale.example.test is not delegated');
    expect(failure.message).toContain(`127.0.0.1:${bind.port}: NS ns-1.awsdns-01.org, ns1.old-provider.test`);
    expect(failure.hint).toBe(
      [
        'Add these NS records to the zone example.test (at the DNS provider that hosts it):',
        '  stale.example.test. 300 IN NS ns-1.awsdns-01.org.',
        '  stale.example.test. 300 IN NS ns-2.awsdns-02.net.',
        'and remove these, which point elsewhere:',
        '  stale.example.test. IN NS ns1.old-provider.test.',
        'Then run the command again.',
      ].join('\n'),
    );
  });

  it('an undelegated domain is waited for until the deadline, then fails with the instructions', async () => {
    const progress: DelegationStatus[] = [];
    const started = performance.now();
    const err = await waitForDelegation({
      domain: 'missing.example.test',
      expectedNameServers: CHILD_NS,
      parent: parent(),
      wait: true,
      timing: fast,
      onProgress: (s) => progress.push(s),
    }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(fast.deadlineMs - 50);
    expect(elapsed).toBeLessThan(fast.deadlineMs + 2_000);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress[0]!.summary).toBe(`127.0.0.1:${bind.port}: no NS records for the domain`);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toContain('missing.example.test was not delegated to the instance’s name servers within 600 ms');
    expect((err as FailureError).hint).toContain('  missing.example.test. 300 IN NS ns-1.awsdns-01.org.\n  missing.example.test. 300 IN NS ns-2.awsdns-02.net.');
  });

  it('a delegation added while waiting (nsupdate on the parent) ends the wait', async () => {
    let added: Promise<void> | undefined;
    const started = performance.now();
    const status = await waitForDelegation({
      domain: 'later.example.test',
      expectedNameServers: CHILD_NS,
      parent: parent(),
      wait: true,
      timing: { deadlineMs: 10_000, intervalMs: 30 },
      onProgress: () => {
        added ??= bind.nsupdate([`zone ${PARENT}`, ...CHILD_NS.map((ns) => `update add later.${PARENT}. 300 IN NS ${ns}.`)]);
      },
    });
    await added;
    expect(added).toBeDefined();
    expect(status.delegated).toBe(true);
    expect(status.views[0]!.nameServers).toEqual(CHILD_NS);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('unreachable parent servers fail within the deadline, with the instructions', async () => {
    const nobody = { address: '127.0.0.1', port: await freePort() };
    const started = performance.now();
    const err = await waitForDelegation({
      domain: 'obs.example.test',
      expectedNameServers: CHILD_NS,
      parent: { zone: PARENT, servers: [nobody] },
      wait: true,
      timing: fast,
      queryTimeoutMs: 200,
    }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(fast.deadlineMs + 2_000);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${nobody.port}: (UDP ECONNREFUSED|no answer \\(timeout\\))`));
    expect((err as FailureError).message).toContain('None of them answered: this machine may not reach DNS servers on port 53');
    expect((err as FailureError).hint).toContain('obs.example.test. 300 IN NS ns-1.awsdns-01.org.');
  });

  it('an interrupt ends the wait with InterruptedError', async () => {
    const controller = new AbortController();
    const err = await waitForDelegation({
      domain: 'missing.example.test',
      expectedNameServers: CHILD_NS,
      parent: parent(),
      wait: true,
      timing: { deadlineMs: 30_000, intervalMs: 30 },
      signal: controller.signal,
      onProgress: () => controller.abort(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
  });

  it('finds the parent zone and its servers by walking up from the domain', async () => {
    const resolver = new Resolver({ timeout: 1_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${bind.port}`]);
    const found = await findParentZone('deep.below.example.test', { resolver, port: bind.port });
    expect(found).toEqual({ zone: PARENT, servers: [{ address: '127.0.0.1', port: bind.port, name: `ns1.${PARENT}` }] });
    expect(await findZoneServers(PARENT, { resolver, port: bind.port })).toEqual(found.servers);
    await expect(findZoneServers('nothing.example.test', { resolver, port: bind.port })).rejects.toThrow(
      'cannot find the name servers of nothing.example.test: ENOTFOUND',
    );
  });
});
