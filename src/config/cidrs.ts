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
