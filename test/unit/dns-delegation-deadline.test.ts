/**
 * When the deadline cuts the last check short, the failure reports what the parent's servers
 * said in the last check that ran to its end, not "query cancelled". A DNS server on loopback
 * answers the first question (without the delegation) and then goes silent, so the second
 * check is always cut short by the deadline.
 */
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForDelegation } from '../../src/dns/delegation.js';
import { FailureError } from '../../src/errors.js';

let server: Socket | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Answers the first NS question with an empty NOERROR (no delegation), then nothing. */
async function answerOnceThenSilent(): Promise<{ port: number; questions: () => number }> {
  let questions = 0;
  const socket = createSocket('udp4');
  server = socket;
  socket.on('message', (message, peer) => {
    questions += 1;
    if (questions > 1) return;
    const query = dnsPacket.decode(message);
    const answer = dnsPacket.encode({ id: query.id, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: query.questions, answers: [] });
    socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { port: socket.address().port, questions: () => questions };
}

describe('waitForDelegation at its deadline', () => {
  it('reports the last check that ran to its end, not the one the deadline cancelled', async () => {
    const parentServer = await answerOnceThenSilent();
    const err = await waitForDelegation({
      domain: 'obs.example.test',
      expectedNameServers: ['ns-1.awsdns-01.org'],
      parent: { zone: 'example.test', servers: [{ address: '127.0.0.1', port: parentServer.port }] },
      wait: true,
      timing: { deadlineMs: 400, intervalMs: 20 },
      // Longer than the deadline: the second question is answered by nothing but the deadline.
      queryTimeoutMs: 5_000,
    }).catch((e: unknown) => e);
    expect(parentServer.questions()).toBeGreaterThanOrEqual(2);
    expect(err).toBeInstanceOf(FailureError);
    const message = (err as FailureError).message;
    expect(message).toContain(`127.0.0.1:${parentServer.port}: no NS records for the domain`);
    expect(message).not.toContain('query cancelled');
    expect((err as FailureError).hint).toContain('obs.example.test. 300 IN NS ns-1.awsdns-01.org.');
  });
});
