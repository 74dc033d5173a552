/**
 * Finding the servers to ask. The system resolver is used only here, to learn which servers
 * are authoritative for a zone and their addresses; the questions that decide anything (NS
 * delegation, challenge TXT) go to those servers directly (query.ts).
 */
import { Resolver } from 'node:dns/promises';
import { FailureError } from '../errors.js';
import { normalizeName, parentName } from './names.js';
import type { DnsServer } from './query.js';

/** The parts of a `node:dns/promises` Resolver used here; tests pass one pointed at a local server. */
export interface NameLookup {
  resolveNs(name: string): Promise<string[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

export interface LookupOptions {
  resolver?: NameLookup;
  /** Port the found servers listen on; 53 everywhere but in tests. */
  port?: number;
}

function defaultResolver(): NameLookup {
  return new Resolver({ timeout: 3_000, tries: 2 });
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

const NO_SUCH_DATA = new Set(['ENODATA', 'ENOTFOUND', 'NOTFOUND', 'ENONAME']);

/**
 * Addresses of name servers given by host name: their IPv4 addresses, or IPv6 for a server
 * with none (many machines cannot reach IPv6). Servers without any address are left out.
 */
export async function serversFor(hostnames: readonly string[], options: LookupOptions = {}): Promise<DnsServer[]> {
  const resolver = options.resolver ?? defaultResolver();
  const port = options.port ?? 53;
  const perHost = await Promise.all(
    hostnames.map(async (host) => {
      const name = normalizeName(host);
      const v4 = await resolver.resolve4(name).catch(() => [] as string[]);
      const addresses = v4.length > 0 ? v4 : await resolver.resolve6(name).catch(() => [] as string[]);
      return addresses.map((address) => ({ address, port, name }));
    }),
  );
  return perHost.flat();
}

/** The zone's NS set as published (system resolver), with addresses. */
export async function findZoneServers(zone: string, options: LookupOptions = {}): Promise<DnsServer[]> {
  const resolver = options.resolver ?? defaultResolver();
  let names: string[];
  try {
    names = await resolver.resolveNs(normalizeName(zone));
  } catch (err) {
    throw new FailureError(`cannot find the name servers of ${normalizeName(zone)}: ${codeOf(err) ?? String(err)}`, {
      hint: 'Check that the zone exists and that this machine can resolve DNS names.',
      cause: err,
    });
  }
  const servers = await serversFor(names, { ...options, resolver });
  if (servers.length === 0) {
    throw new FailureError(`none of the name servers of ${normalizeName(zone)} (${names.join(', ')}) has an address`, {
      hint: 'Check the zone’s NS records and that this machine can resolve DNS names.',
    });
  }
  return servers;
}

export interface ParentZone {
  zone: string;
  servers: DnsServer[];
}

/**
 * The zone that holds the delegation of `domain`: the closest name above it that has NS
 * records (`obs.example.co.uk` → `example.co.uk`), and that zone's servers.
 */
export async function findParentZone(domain: string, options: LookupOptions = {}): Promise<ParentZone> {
  const resolver = options.resolver ?? defaultResolver();
  for (let candidate = parentName(domain); candidate; candidate = parentName(candidate)) {
    let names: string[];
    try {
      names = await resolver.resolveNs(candidate);
    } catch (err) {
      if (NO_SUCH_DATA.has(codeOf(err) ?? '')) continue;
      throw new FailureError(`cannot look up the parent zone of ${normalizeName(domain)}: ${codeOf(err) ?? String(err)}`, {
        hint: 'Check that this machine can resolve DNS names, then run the command again.',
        cause: err,
      });
    }
    if (names.length === 0) continue;
    const servers = await serversFor(names, { ...options, resolver });
    if (servers.length === 0) {
      throw new FailureError(`none of the name servers of ${candidate} (${names.join(', ')}) has an address`, {
        hint: 'Check the parent zone’s NS records.',
      });
    }
    return { zone: candidate, servers };
  }
  throw new FailureError(`no parent zone of ${normalizeName(domain)} was found in DNS`, {
    hint: 'dns.domain must be below a domain you control, for example obs.example.com below example.com.',
  });
}
