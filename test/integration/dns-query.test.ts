/**
 * Questions to one given server, over the wire, against a real bind9 on loopback: UDP, the
 * TCP retry of a truncated answer, and the ways a server can fail to answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsQueryError, queryServer } from '../../src/dns/query.js';
import { waitForTxtVisible } from '../../src/dns/txt-visibility.js';
import { FailureError } from '../../src/errors.js';
import { bind9Missing, startBind9, type Bind9 } from '../support/bind9.js';
import { freePort } from '../support/processes.js';

const missing = bind9Missing();
if (missing) console.warn(`SKIPPED dns queries against bind9: ${missing}`);

const ZONE = 'obs.example.test';
// Eight 200-byte strings: far more than the 512 bytes of a plain UDP answer.
const BIG = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(200));

describe.skipIf(Boolean(missing))(`dns queries against bind9${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let bind: Bind9;

  beforeAll(async () => {
    bind = await startBind9({
      zones: [{ name: ZONE, records: ['small IN TXT "hello" "world"', ...BIG.map((v) => `big IN TXT "${v}"`)] }],
    });
  });

  afterAll(async () => {
    await bind?.stop();
  });

  it('asks over UDP without recursion and reads an authoritative answer', async () => {
    const answer = await queryServer(bind.server, `small.${ZONE}.`, 'TXT');
    expect(answer).toMatchObject({ rcode: 'NOERROR', authoritative: true, transport: 'udp' });
    // The strings of one TXT record are one value.
    expect(answer.answers).toEqual([{ name: `small.${ZONE}`, type: 'TXT', ttl: 60, data: 'helloworld' }]);
  });

  it('asks again over TCP when the UDP answer is truncated', async () => {
    const answer = await queryServer(bind.server, `big.${ZONE}`, 'TXT');
    expect(answer.transport).toBe('tcp');
    expect(answer.answers.map((a) => a.data).sort()).toEqual(BIG);
  });

  it('reports NXDOMAIN, and REFUSED for names outside its zones (no recursion)', async () => {
    expect((await queryServer(bind.server, `nothing.${ZONE}`, 'TXT')).rcode).toBe('NXDOMAIN');
    expect((await queryServer(bind.server, 'example.org', 'A')).rcode).toBe('REFUSED');
  });

  it('fails fast on a port nobody listens on, and on an abort', async () => {
    const nobody = { address: '127.0.0.1', port: await freePort() };
    const started = performance.now();
    const err = await queryServer(nobody, ZONE, 'SOA', { timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsQueryError);
    expect(['unreachable', 'timeout']).toContain((err as DnsQueryError).reason);
    expect(performance.now() - started).toBeLessThan(2_500);

    const controller = new AbortController();
    const pending = queryServer(nobody, ZONE, 'SOA', { timeoutMs: 10_000, signal: controller.signal });
    controller.abort();
    const aborted = await pending.catch((e: unknown) => e);
    expect(aborted).toBeInstanceOf(DnsQueryError);
    expect((aborted as DnsQueryError).reason).toBe('aborted');
  });

  it('waits for TXT values to appear at every server, and names the servers that never show them', async () => {
    const name = `_acme-challenge.${ZONE}`;
    const adding = bind.nsupdate([`update add ${name}. 60 IN TXT "v1"`, `update add ${name}. 60 IN TXT "v2"`]);
    await waitForTxtVisible({ servers: [bind.server], name, values: ['v1', 'v2'], timing: { deadlineMs: 5_000, intervalMs: 20 } });
    await adding;
    expect((await bind.txt(name)).sort()).toEqual(['v1', 'v2']);

    const nobody = { address: '127.0.0.1', port: await freePort() };
    const err = await waitForTxtVisible({
      servers: [bind.server, nobody],
      name,
      values: ['v1', 'v3'],
      timing: { deadlineMs: 400, intervalMs: 20 },
      queryTimeoutMs: 100,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    const message = (err as FailureError).message;
    expect(message).toContain(`127.0.0.1:${bind.port}: other values: "v1", "v2"`);
    expect(message).toMatch(new RegExp(`127\\.0\\.0\\.1:${nobody.port}: (UDP ECONNREFUSED|no answer \\(timeout\\))`));
  });
});
