/**
 * Who may call the data APIs: client address allow-lists.
 *
 * - The instance-wide list is an nginx `geo` block in nginx.conf (IPv4 and IPv6): it changes
 *   with the platform stack, rarely.
 * - A tenant's own list replaces it for that tenant. It lives in the tenant's `clients-<tenant>.conf`
 *   (written by its stack like its tokens), so changing it touches that one tenant. Those files
 *   are included into a `map`, and a map matches strings, not networks: each IPv4 CIDR becomes a
 *   regular expression over `$remote_addr` (IPv6 text has too many spellings for that, so a
 *   tenant's own list is IPv4 only).
 *
 * `$remote_addr` must be the real client: the Service keeps it (externalTrafficPolicy: Local,
 * no SNAT on the way in), see the gateway component.
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV6 = /^[0-9a-fA-F:.]+\/(\d{1,3})$/;

function octets(cidr: string): { octets: number[]; prefix: number } | undefined {
  const m = IPV4.exec(cidr);
  if (!m) return undefined;
  const parts = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (parts.some((o, i) => o > 255 || String(o) !== m[i + 1]) || prefix > 32) return undefined;
  return { octets: parts, prefix };
}

export function isIpv4Cidr(cidr: string): boolean {
  return octets(cidr) !== undefined;
}

/** IPv4 or IPv6 CIDR as nginx's `geo` takes it. */
export function assertClientCidr(what: string, cidr: string): void {
  if (isIpv4Cidr(cidr)) return;
  const v6 = IPV6.exec(cidr);
  if (v6 && cidr.includes(':') && Number(v6[1]) <= 128) return;
  throw new Error(`gateway: ${what} ${JSON.stringify(cidr)} is not an IPv4 or IPv6 CIDR such as 203.0.113.0/24`);
}

/** A decimal octet in [lo, hi], as a regex alternation. */
function octetRange(lo: number, hi: number): string {
  if (lo === 0 && hi === 255) return '\\d{1,3}';
  if (lo === hi) return String(lo);
  return `(?:${Array.from({ length: hi - lo + 1 }, (_, i) => lo + i).join('|')})`;
}

/** A regex (no anchors) matching exactly the dotted IPv4 addresses of `cidr`. */
export function ipv4CidrRegex(cidr: string): string {
  const parsed = octets(cidr);
  if (!parsed) throw new Error(`gateway: ${JSON.stringify(cidr)} is not an IPv4 CIDR`);
  return parsed.octets
    .map((octet, i) => {
      const bits = Math.max(0, Math.min(8, parsed.prefix - i * 8));
      const mask = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
      const lo = octet & mask;
      return octetRange(lo, lo | (~mask & 0xff));
    })
    .join('\\.');
}

/** Whether an IPv4 address is in an IPv4 CIDR: the reference the regexes are tested against. */
export function ipv4InCidr(address: string, cidr: string): boolean {
  const parsed = octets(cidr);
  const addr = octets(`${address}/32`);
  if (!parsed || !addr) return false;
  const toInt = (o: number[]) => o.reduce((n, x) => n * 256 + x, 0);
  const size = 2 ** (32 - parsed.prefix);
  return Math.floor(toInt(addr.octets) / size) === Math.floor(toInt(parsed.octets) / size);
}
