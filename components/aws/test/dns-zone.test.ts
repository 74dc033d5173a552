import { describe, expect, it } from 'vitest';
import { DELEGATION_TTL_SECONDS, DnsZone } from '../src/dns-zone.js';
import { ofType, oneOf, runWithAwsMocks } from './support.js';

async function zone(parentZoneId?: string) {
  return runWithAwsMocks(async () => {
    const dns = new DnsZone('dns', { domain: 'obs.example.com', tags: { owner: 'obs' }, ...(parentZoneId ? { parentZoneId } : {}) });
    return { zoneId: dns.zoneId, nameServers: dns.nameServers, delegated: dns.delegated };
  });
}

describe('DnsZone', () => {
  it('creates the zone and delegates to it from the parent zone with its own name servers', async () => {
    const run = await zone('Z0PARENT12345');
    const z = oneOf(run.resources, 'aws:route53/zone:Zone');
    expect(z.inputs).toMatchObject({ name: 'obs.example.com', forceDestroy: false, tags: { owner: 'obs' } });
    expect(run.outputs.zoneId).toMatch(/^Z[0-9A-Z]+$/);
    expect(run.outputs.nameServers).toHaveLength(4);
    for (const ns of run.outputs.nameServers) expect(ns).toMatch(/^ns-\d+\.awsdns-\d{2}\.(com|net|org|co\.uk)$/);
    const record = oneOf(run.resources, 'aws:route53/record:Record');
    expect(record.inputs).toEqual({
      zoneId: 'Z0PARENT12345',
      name: 'obs.example.com',
      type: 'NS',
      ttl: DELEGATION_TTL_SECONDS,
      records: run.outputs.nameServers,
    });
    expect(DELEGATION_TTL_SECONDS).toBe(300);
    expect(run.outputs.delegated).toBe(true);
  });

  it('creates only the zone when there is no parent zone to write to', async () => {
    const run = await zone();
    expect(ofType(run.resources, 'aws:route53/zone:Zone')).toHaveLength(1);
    expect(ofType(run.resources, 'aws:route53/record:Record')).toHaveLength(0);
    expect(run.outputs.delegated).toBe(false);
    expect(run.outputs.nameServers).toHaveLength(4);
  });
});
