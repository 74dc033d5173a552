import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { addTenant, addToken, removeTenant, removeToken } from '../../src/tenants/config-edit.js';

const FILE = [
  '# Our production instance.',
  'aws:',
  '  region: eu-west-1 # Dublin',
  '  apiAllowedCidrs: [203.0.113.0/24]',
  'dns:',
  '  domain: obs.example.com',
  '',
  'tenants:',
  '  # The payments team; ask #payments-oncall.',
  '  - name: payments',
  '    tokens: [prometheus, promtail] # one per shipper',
  '    retention: { metricsDays: 90 }',
  '',
  '  - name: search # no tokens key: it has `default`',
  '',
].join('\n');

const load = (text: string) => parseConfigText(text, 'lookout.yaml', { provider: 'aws', name: 'prod' });

describe('editing lookout.yaml for tenant and token commands', () => {
  it('adds a tenant at the end and keeps every comment, blank line and flow list', () => {
    const out = addTenant(FILE, 'lookout.yaml', { name: 'checkout', tokens: [{ name: 'agent', scope: 'write', expiresInDays: 90 }], allowedCidrs: ['198.51.100.0/24'] });
    expect(out.startsWith(FILE.trimEnd().split('\n').slice(0, 13).join('\n'))).toBe(true);
    for (const comment of ['# Our production instance.', '# Dublin', '# The payments team; ask #payments-oncall.', '# one per shipper', '# no tokens key']) expect(out).toContain(comment);
    const config = load(out);
    expect(config.tenants.map((t) => t.name)).toEqual(['payments', 'search', 'checkout']);
    expect(config.tenants[2]).toMatchObject({ tokens: [{ name: 'agent', scope: 'write', expiresInDays: 90 }], allowedCidrs: ['198.51.100.0/24'] });
    expect(config.tenants[0]!.retention.metricsDays).toBe(90);
  });

  it('creates the tenants list when the file has none', () => {
    const bare = FILE.slice(0, FILE.indexOf('tenants:'));
    expect(load(addTenant(bare, 'f', { name: 'one' })).tenants.map((t) => t.name)).toEqual(['one']);
  });

  it('removes exactly one tenant, leaving the others and their comments', () => {
    const out = removeTenant(FILE, 'lookout.yaml', 'payments');
    expect(load(out).tenants.map((t) => t.name)).toEqual(['search']);
    expect(out).toContain('# no tokens key');
    expect(out).toContain('# Dublin');
    expect(() => removeTenant(FILE, 'lookout.yaml', 'nobody')).toThrow(/tenant nobody is not in lookout.yaml/);
  });

  it('adds and revokes tokens, writing out the implied default before adding to a tenant without the key', () => {
    const added = addToken(FILE, 'lookout.yaml', 'payments', { name: 'grafana-cloud', scope: 'read' });
    expect(added).toContain('# one per shipper');
    expect(load(added).tenants[0]!.tokens).toEqual(['prometheus', 'promtail', { name: 'grafana-cloud', scope: 'read' }]);
    const toSearch = addToken(FILE, 'lookout.yaml', 'search', { name: 'ci' });
    expect(load(toSearch).tenants[1]!.tokens).toEqual(['default', 'ci']);
    const revoked = removeToken(added, 'lookout.yaml', 'payments', 'promtail');
    expect(load(revoked).tenants[0]!.tokens).toEqual(['prometheus', { name: 'grafana-cloud', scope: 'read' }]);
    expect(() => addToken(FILE, 'lookout.yaml', 'payments', { name: 'promtail' })).toThrow(/already has a token named promtail/);
    expect(() => removeToken(FILE, 'lookout.yaml', 'search', 'default')).toThrow(/last token of tenant search/);
    expect(() => removeToken(FILE, 'lookout.yaml', 'payments', 'x')).toThrow(/Its tokens|no token named x/);
  });

  it('changes nothing but the lines of the edit', () => {
    const out = removeToken(FILE, 'lookout.yaml', 'payments', 'promtail');
    const before = FILE.split('\n');
    const after = out.split('\n');
    const changed = before.filter((line, i) => after[i] !== line);
    expect(changed).toEqual(['    tokens: [prometheus, promtail] # one per shipper']);
  });
});
