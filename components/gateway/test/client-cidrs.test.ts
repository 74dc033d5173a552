import { describe, expect, it } from 'vitest';
import { assertClientCidr, ipv4CidrRegex, ipv4InCidr, renderTenantClientEntries } from '../src/index.js';

describe('client allow-lists', () => {
  it('turns an IPv4 CIDR into a regex that matches exactly its addresses', () => {
    const cidrs = ['10.0.0.0/8', '10.1.128.0/17', '192.168.7.0/24', '203.0.113.77/32', '172.16.0.0/12', '0.0.0.0/0', '100.64.3.0/27', '1.2.3.0/31'];
    // Addresses at and around each network's edges, and a spread of others.
    const addresses = ['10.0.0.0', '9.255.255.255', '11.0.0.0', '10.1.127.255', '10.1.128.0', '10.1.255.255', '10.2.0.0', '192.168.7.255', '192.168.8.0',
      '203.0.113.77', '203.0.113.78', '172.15.255.255', '172.16.0.1', '172.31.255.255', '172.32.0.0', '100.64.3.31', '100.64.3.32', '1.2.3.1', '1.2.3.2'];
    for (let i = 0; i < 500; i++) addresses.push([0, 0, 0, 0].map((_, j) => (i * (37 + j * 11) + j * 91) % 256).join('.'));
    for (const cidr of cidrs) {
      const regex = new RegExp(`^${ipv4CidrRegex(cidr)}$`);
      for (const address of addresses) expect(regex.test(address), `${address} in ${cidr}`).toBe(ipv4InCidr(address, cidr));
    }
  });

  it('refuses what is not a CIDR, and IPv6 in a tenant’s own list', () => {
    expect(() => assertClientCidr('x', '10.0.0.0/33')).toThrow(/not an IPv4 or IPv6 CIDR/);
    expect(() => assertClientCidr('x', '10.0.0/8')).toThrow(/not an IPv4 or IPv6 CIDR/);
    expect(() => assertClientCidr('x', '2001:db8::/32')).not.toThrow();
    expect(() => renderTenantClientEntries('acme', ['2001:db8::/32'])).toThrow(/IPv4 only/);
    expect(() => renderTenantClientEntries('acme', [])).toThrow(/empty/);
  });
});
