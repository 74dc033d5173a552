import { z } from 'zod';
/**
 * Checks of the IPv4 CIDRs provider blocks take for their control planes, shared by every
 * provider so each refuses the same mistakes with the same words.
 */

/**
 * Clouds reject CIDRs such as 10.0.0.1/16; catching them here saves a failed cluster update.
 * Only judged for well-formed IPv4 CIDRs: anything else gets its one error from the format check.
 */
export function cidrHasNoHostBits(cidr: string): boolean {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) return true;
  const [address = '', prefix = '0'] = cidr.split('/');
  const value = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const hostBits = 32 - Number(prefix);
  return hostBits === 0 || value % 2 ** hostBits === 0;
}

/** A CIDR with prefix length 0 covers every IPv4 address. */
export function isWholeInternet(cidr: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}\/0$/.test(cidr);
}

export const HOST_BITS_MESSAGE = 'must be a network address: the bits after the prefix length must be zero (e.g. 10.0.0.0/16, not 10.0.0.1/16)';

/** How a provider names the endpoint the CIDRs guard, and its block's id, for the shared messages. */
export interface ControlPlaneAccess {
  /** Its block's id: `aws`. */
  provider: string;
  /** What the CIDRs reach: "the Kubernetes API endpoint". */
  endpoint: string;
}

/**
 * The `apiAllowedCidrs` and `allowApiFromAnywhere` fields of a provider block: IPv4 network
 * addresses, at least one, at most the cloud's limit; 0.0.0.0/0 only when allowed (see
 * {@link refuseWholeInternet}).
 */
export function controlPlaneAccessFields(o: ControlPlaneAccess & { ipv6Message: string; max: number; maxMessage: string; description: string }) {
  return {
    apiAllowedCidrs: z
      .array(
        z
          .cidrv4({
            // One error for an IPv6 CIDR, saying why (cidrHasNoHostBits leaves it alone).
            error: (issue) => (typeof issue.input === 'string' && issue.input.includes(':') ? o.ipv6Message : undefined),
          })
          .refine(cidrHasNoHostBits, { message: HOST_BITS_MESSAGE }),
      )
      .min(1)
      .max(o.max, { message: o.maxMessage })
      .meta({ description: o.description }),
    allowApiFromAnywhere: z
      .boolean()
      .default(false)
      .meta({
        description: `Allow 0.0.0.0/0 in \`apiAllowedCidrs\`: ${o.endpoint} is then reachable from the whole internet (still behind IAM). Every command warns while it is so.`,
      }),
  };
}

/** In a block's superRefine: each 0.0.0.0/0 is an issue unless `allowApiFromAnywhere` is set. */
export function refuseWholeInternet(block: { allowApiFromAnywhere?: unknown; apiAllowedCidrs?: unknown } | undefined, ctx: z.RefinementCtx, o: ControlPlaneAccess): void {
  if (block?.allowApiFromAnywhere === true || !Array.isArray(block?.apiAllowedCidrs)) return;
  block.apiAllowedCidrs.forEach((cidr: unknown, i: number) => {
    if (typeof cidr === 'string' && isWholeInternet(cidr)) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiAllowedCidrs', i],
        message:
          `${cidr} opens ${o.endpoint} to the whole internet; list the networks that need it, ` +
          `or set ${o.provider}.allowApiFromAnywhere: true to accept that`,
      });
    }
  });
}

/** The warning every command gives while a block allows 0.0.0.0/0. */
export function wholeInternetWarnings(cidrs: readonly string[], o: ControlPlaneAccess): string[] {
  const open = cidrs.filter(isWholeInternet);
  return open.length > 0
    ? [`${o.provider}.apiAllowedCidrs has ${open.join(', ')} (allowed by ${o.provider}.allowApiFromAnywhere): ${o.endpoint} is reachable from the whole internet`]
    : [];
}
