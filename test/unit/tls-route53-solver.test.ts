/**
 * The Route53 DNS-01 solver against aws-sdk-client-mock: the exact API calls, the wait for
 * INSYNC, and the removal of the record when the issuance fails.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { withChallengeRecords } from '../../src/tls/challenge-records.js';
import { CHALLENGE_COMMENT, Route53Solver } from '../../src/providers/aws/route53-solver.js';
import { freePort } from '../support/processes.js';

const ZONE_ID = 'Z0123456789ABC';
const NAME = '_acme-challenge.obs.example.com';
const FAST = { changeDeadlineMs: 2_000, changePollMs: 5 };

const route53 = mockClient(Route53Client);

function solver(timing = FAST): Route53Solver {
  return new Route53Solver({
    client: new Route53Client({ region: 'us-east-1' }),
    hostedZoneId: `/hostedzone/${ZONE_ID}`,
    timing,
    lookup: {
      resolver: {
        resolve4: async (host: string) => ({ 'ns-1.awsdns-01.org': ['205.251.192.1'], 'ns-2.awsdns-02.net': ['205.251.194.2'] })[host] ?? [],
        resolve6: async () => [],
        resolveNs: async () => [],
      },
    },
  });
}

function change(id: string, status: 'PENDING' | 'INSYNC') {
  return { ChangeInfo: { Id: id, Status: status, SubmittedAt: new Date('2026-01-01T00:00:00Z') } };
}

beforeEach(() => route53.reset());
afterEach(() => route53.reset());

describe('Route53Solver', () => {
  it('UPSERTs the quoted TXT values, then polls GetChange until INSYNC', async () => {
    route53.on(ChangeResourceRecordSetsCommand).resolves(change('/change/C1', 'PENDING'));
    route53
      .on(GetChangeCommand)
      .resolvesOnce(change('/change/C1', 'PENDING'))
      .resolvesOnce(change('/change/C1', 'PENDING'))
      .resolves(change('/change/C1', 'INSYNC'));

    await solver().setTxt(NAME, ['value-one', 'value-two']);

    const changes = route53.commandCalls(ChangeResourceRecordSetsCommand);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.args[0].input).toEqual({
      HostedZoneId: ZONE_ID,
      ChangeBatch: {
        Comment: CHALLENGE_COMMENT,
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: `${NAME}.`,
              Type: 'TXT',
              TTL: 60,
              ResourceRecords: [{ Value: '"value-one"' }, { Value: '"value-two"' }],
            },
          },
        ],
      },
    });
    const polls = route53.commandCalls(GetChangeCommand);
    expect(polls).toHaveLength(3);
    expect(polls.every((c) => c.args[0].input.Id === '/change/C1')).toBe(true);
  });

  it('fails when the change is not INSYNC by the deadline', async () => {
    route53.on(ChangeResourceRecordSetsCommand).resolves(change('/change/C2', 'PENDING'));
    route53.on(GetChangeCommand).resolves(change('/change/C2', 'PENDING'));
    const err = await solver({ changeDeadlineMs: 150, changePollMs: 10 })
      .setTxt(NAME, ['v'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe(`Route53 change /change/C2 in Route53 hosted zone ${ZONE_ID} was still PENDING after 150 ms`);
    expect(route53.commandCalls(GetChangeCommand).length).toBeGreaterThan(1);
  });

  it('removes exactly the record set that is there, read first', async () => {
    const present = { Name: `${NAME}.`, Type: 'TXT' as const, TTL: 60, ResourceRecords: [{ Value: '"stale"' }] };
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [present], IsTruncated: false, MaxItems: 1 });
    route53.on(ChangeResourceRecordSetsCommand).resolves(change('/change/C3', 'PENDING'));

    await solver().removeTxt(NAME);

    expect(route53.commandCalls(ListResourceRecordSetsCommand)[0]!.args[0].input).toEqual({
      HostedZoneId: ZONE_ID,
      StartRecordName: `${NAME}.`,
      StartRecordType: 'TXT',
      MaxItems: 1,
    });
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)[0]!.args[0].input).toEqual({
      HostedZoneId: ZONE_ID,
      ChangeBatch: { Comment: CHALLENGE_COMMENT, Changes: [{ Action: 'DELETE', ResourceRecordSet: present }] },
    });
    // Nothing waits for a deletion.
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(0);
  });

  it('removes nothing when the next record set is another name', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [{ Name: 'www.obs.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '192.0.2.1' }] }],
      IsTruncated: false,
      MaxItems: 1,
    });
    await solver().removeTxt(NAME);
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0);
  });

  it('cleans up when the record never shows at the zone’s servers', async () => {
    const written = { Name: `${NAME}.`, Type: 'TXT' as const, TTL: 60, ResourceRecords: [{ Value: '"v"' }] };
    route53.on(ChangeResourceRecordSetsCommand).resolves(change('/change/C4', 'PENDING'));
    route53.on(GetChangeCommand).resolves(change('/change/C4', 'INSYNC'));
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [written], IsTruncated: false, MaxItems: 1 });
    const phases: string[] = [];
    let bodyRan = false;

    const err = await withChallengeRecords(
      {
        solver: solver(),
        records: new Map([[NAME, ['v']]]),
        // A loopback port nobody listens on: the record can never be seen there.
        servers: [{ address: '127.0.0.1', port: await freePort() }],
        visibility: { deadlineMs: 150, intervalMs: 10 },
        queryTimeoutMs: 50,
        cleanupTimeoutMs: 1_000,
        onPhase: (p, e) => phases.push(`${p}:${e}`),
      },
      async () => {
        bodyRan = true;
      },
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toContain(`the TXT record ${NAME} did not appear`);
    expect((err as FailureError).hint).toContain('must reach the zone’s name servers on port 53');
    expect(bodyRan).toBe(false);
    const actions = route53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input.ChangeBatch?.Changes?.[0]?.Action);
    expect(actions).toEqual(['UPSERT', 'DELETE']);
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)[1]!.args[0].input.ChangeBatch?.Changes?.[0]?.ResourceRecordSet).toEqual(written);
    expect(phases).toEqual(['record-written:started', 'record-written:done', 'record-visible:started']);
  });

  it('cleans up when Route53 never reports the change INSYNC', async () => {
    route53.on(ChangeResourceRecordSetsCommand).resolves(change('/change/C5', 'PENDING'));
    route53.on(GetChangeCommand).resolves(change('/change/C5', 'PENDING'));
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [{ Name: `${NAME}.`, Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"v"' }] }],
      IsTruncated: false,
      MaxItems: 1,
    });
    const err = await withChallengeRecords(
      {
        solver: solver({ changeDeadlineMs: 100, changePollMs: 10 }),
        records: new Map([[NAME, ['v']]]),
        visibility: { deadlineMs: 100, intervalMs: 10 },
        queryTimeoutMs: 50,
        cleanupTimeoutMs: 1_000,
      },
      async () => 'unreached',
    ).catch((e: unknown) => e);
    expect((err as FailureError).message).toContain('was still PENDING');
    const actions = route53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input.ChangeBatch?.Changes?.[0]?.Action);
    expect(actions).toEqual(['UPSERT', 'DELETE']);
  });

  it('finds the zone’s name servers with GetHostedZone', async () => {
    route53.on(GetHostedZoneCommand).resolves({
      HostedZone: { Id: `/hostedzone/${ZONE_ID}`, Name: 'obs.example.com.', CallerReference: 'x' },
      DelegationSet: { NameServers: ['ns-1.awsdns-01.org', 'ns-2.awsdns-02.net'] },
    });
    const servers = await solver().authoritativeServers();
    expect(route53.commandCalls(GetHostedZoneCommand)[0]!.args[0].input).toEqual({ Id: ZONE_ID });
    expect(servers).toEqual([
      { address: '205.251.192.1', port: 53, name: 'ns-1.awsdns-01.org' },
      { address: '205.251.194.2', port: 53, name: 'ns-2.awsdns-02.net' },
    ]);
  });

  it('explains an access denial, naming the API', async () => {
    route53.on(ChangeResourceRecordSetsCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const err = await solver().setTxt(NAME, ['v']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe('AWS denied route53:ChangeResourceRecordSets: not authorized');
  });
});
