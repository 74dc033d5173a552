/**
 * The kubernetes provider's tenant-hosts record written by RFC 2136 to a real bind9 on
 * loopback: `*.<domain>` as an A record for an IP gateway, replaced by a CNAME when the
 * gateway has a host name, and removed again; and the settings it needs, refused before
 * anything is touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryServer } from '../../src/dns/query.js';
import { ConfigError } from '../../src/errors.js';
import { checkRecordSettings, tenantHostsName } from '../../src/providers/kubernetes/dns-records.js';
import { Rfc2136Solver } from '../../src/tls/solvers/rfc2136.js';
import { bind9Missing, startBind9, type Bind9 } from '../support/bind9.js';

const ZONE = 'obs.k8s.test';
const missing = bind9Missing();
if (missing) console.warn(`SKIPPED kubernetes DNS records against bind9: ${missing}`);

describe.skipIf(Boolean(missing))(`kubernetes DNS records against bind9${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let bind: Bind9;
  beforeAll(async () => {
    bind = await startBind9({ zones: [{ name: ZONE }] });
  }, 60_000);
  afterAll(async () => bind?.stop());

  const answers = async (name: string, type: 'A' | 'CNAME') =>
    (await queryServer(bind.server, name, type, { timeoutMs: 1_000 })).answers.filter((a) => a.type === type).map((a) => a.data);

  it('points every tenant host at the gateway, then follows a change of address, then removes it', async () => {
    const updater = new Rfc2136Solver({ server: bind.server, zone: ZONE, key: bind.key });
    const name = tenantHostsName(ZONE);
    await updater.pointAt(name, '192.0.2.10', 60);
    expect(await answers(`acme.${ZONE}`, 'A')).toEqual(['192.0.2.10']);

    await updater.pointAt(name, 'lb-1234.example.net', 60);
    expect(await answers(`acme.${ZONE}`, 'CNAME')).toEqual(['lb-1234.example.net']);
    expect(await answers(`acme.${ZONE}`, 'A')).toEqual([]);

    await updater.removeAddress(name);
    const gone = await queryServer(bind.server, `acme.${ZONE}`, 'A', { timeoutMs: 1_000 });
    expect(gone.rcode).toBe('NXDOMAIN');
  });
});

describe('kubernetes.dnsRecords: rfc2136 settings', () => {
  const config = (zone: string | undefined) =>
    ({
      kubernetes: { dnsRecords: 'rfc2136' },
      dns: { domain: 'obs.example.com' },
      tls: zone ? { rfc2136: { zone, server: 'ns1.example.com', port: 53, keyName: 'k', keySecretEnv: 'K' } } : {},
    }) as never;

  it('needs tls.rfc2136 with a zone that holds the domain', () => {
    expect(() => checkRecordSettings({ config: config('example.com'), configFile: 'f' })).not.toThrow();
    expect(() => checkRecordSettings({ config: config('obs.example.com'), configFile: 'f' })).not.toThrow();
    const err = (() => {
      try {
        checkRecordSettings({ config: config('_acme-challenge.obs.example.com'), configFile: 'f' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.issues[0]!.path).toBe('tls.rfc2136.zone');
    expect(() => checkRecordSettings({ config: config(undefined), configFile: 'f' })).toThrow(/tls\.rfc2136: is required when kubernetes\.dnsRecords is rfc2136/);
  });
});
