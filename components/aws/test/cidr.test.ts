import { describe, expect, it } from 'vitest';
import { carveSubnets, cidrContains, cidrsOverlap, parseCidr } from '../src/cidr.js';

const size = (cidr: string) => 2 ** (32 - parseCidr(cidr).prefix);

describe('carveSubnets', () => {
  it.each([
    ['10.0.0.0/16', 3],
    ['10.0.0.0/16', 2],
    ['172.16.0.0/18', 3],
    ['192.168.0.0/20', 2],
  ])('lays out %s over %i AZs inside the VPC, without overlaps, private larger than public', (vpc, azs) => {
    const layout = carveSubnets(vpc, azs);
    expect(layout.private).toHaveLength(azs);
    expect(layout.public).toHaveLength(azs);
    const all = [...layout.private, ...layout.public];
    for (const cidr of all) expect(cidrContains(vpc, cidr)).toBe(true);
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) expect(cidrsOverlap(all[i]!, all[j]!), `${all[i]} vs ${all[j]}`).toBe(false);
    }
    for (let i = 0; i < azs; i++) expect(size(layout.private[i]!)).toBeGreaterThan(size(layout.public[i]!));
  });

  it('gives a /16 three /19 private and three /22 public subnets', () => {
    expect(carveSubnets('10.0.0.0/16', 3)).toEqual({
      private: ['10.0.0.0/19', '10.0.32.0/19', '10.0.64.0/19'],
      public: ['10.0.96.0/22', '10.0.100.0/22', '10.0.104.0/22'],
    });
  });

  it('keeps the first AZs’ subnets when an AZ is added', () => {
    const two = carveSubnets('10.0.0.0/16', 2);
    const three = carveSubnets('10.0.0.0/16', 3);
    expect(three.private.slice(0, 2)).toEqual(two.private);
    expect(three.public.slice(0, 2)).toEqual(two.public);
  });

  it.each([
    ['10.0.0.0/24', 3, /\/16 to \/20/],
    ['10.0.0.0/8', 3, /\/16 to \/20/],
    ['10.0.0.1/16', 3, /host bits/],
    ['10.0.0.0/16', 4, /1 to 3 availability zones/],
    ['10.0.0.0/16', 0, /1 to 3 availability zones/],
    ['10.0.256.0/16', 2, /not an IPv4 address/],
    ['10.0.0.0', 2, /not an IPv4 CIDR/],
  ])('rejects %s with %i AZs', (vpc, azs, message) => {
    expect(() => carveSubnets(vpc, azs)).toThrow(message);
  });
});
