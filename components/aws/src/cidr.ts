/**
 * Carves the subnets of a VPC from its CIDR. Pure, so the layout can be tested and shown
 * by `plan` without a cloud.
 *
 * Layout for a /16 (other sizes scale with the prefix):
 * - private subnets: the first three /19 blocks (8 190 addresses each), because pods take
 *   their IPs from the private subnets (VPC CNI) and run out long before anything else;
 * - public subnets: /22 blocks carved from the fourth /19 (they only hold NAT gateways and
 *   load balancer interfaces);
 * - the upper half of the VPC stays free for later (more AZs, secondary node groups).
 */

export const MAX_AVAILABILITY_ZONES = 3;
/** Bounds of the VPC prefix length for which the layout above gives usable subnets. */
export const MIN_VPC_PREFIX = 16;
export const MAX_VPC_PREFIX = 20;

export interface SubnetLayout {
  /** One CIDR per AZ, in AZ order. */
  private: string[];
  public: string[];
}

function parseIpv4(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4) throw new Error(`"${address}" is not an IPv4 address`);
  return parts.reduce((acc, part) => {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new Error(`"${address}" is not an IPv4 address`);
    return acc * 256 + Number(part);
  }, 0);
}

function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function parseCidr(cidr: string): { base: number; prefix: number } {
  const [address = '', prefixText = ''] = cidr.split('/');
  const prefix = Number(prefixText);
  if (!/^\d{1,2}$/.test(prefixText) || prefix > 32) throw new Error(`"${cidr}" is not an IPv4 CIDR`);
  const base = parseIpv4(address);
  if (base % 2 ** (32 - prefix) !== 0) {
    throw new Error(`"${cidr}" has host bits set; did you mean ${formatIpv4(base - (base % 2 ** (32 - prefix)))}/${prefix}?`);
  }
  return { base, prefix };
}

export function carveSubnets(vpcCidr: string, azCount: number): SubnetLayout {
  if (!Number.isInteger(azCount) || azCount < 1 || azCount > MAX_AVAILABILITY_ZONES) {
    throw new Error(`the subnet layout supports 1 to ${MAX_AVAILABILITY_ZONES} availability zones, not ${azCount}`);
  }
  const { base, prefix } = parseCidr(vpcCidr);
  if (prefix < MIN_VPC_PREFIX || prefix > MAX_VPC_PREFIX) {
    throw new Error(`the VPC CIDR must be a /${MIN_VPC_PREFIX} to /${MAX_VPC_PREFIX}, not /${prefix} (${vpcCidr})`);
  }
  const privatePrefix = prefix + 3;
  const publicPrefix = prefix + 6;
  const privateSize = 2 ** (32 - privatePrefix);
  const publicSize = 2 ** (32 - publicPrefix);
  const publicBase = base + MAX_AVAILABILITY_ZONES * privateSize;
  const zones = [...Array(azCount).keys()];
  return {
    private: zones.map((i) => `${formatIpv4(base + i * privateSize)}/${privatePrefix}`),
    public: zones.map((i) => `${formatIpv4(publicBase + i * publicSize)}/${publicPrefix}`),
  };
}

/** True when the address range of `inner` lies within `outer`. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner);
  return i.prefix >= o.prefix && i.base >= o.base && i.base + 2 ** (32 - i.prefix) <= o.base + 2 ** (32 - o.prefix);
}

/** True when two CIDRs share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.base < y.base + 2 ** (32 - y.prefix) && y.base < x.base + 2 ** (32 - x.prefix);
}
