/** A DNS server given by name or address in the config, as the address nsupdate and queries need. */
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { UsageError } from '../errors.js';

export async function resolveServerAddress(server: string): Promise<string> {
  if (isIP(server)) return server;
  try {
    return (await lookup(server)).address;
  } catch (err) {
    throw new UsageError(`tls.rfc2136.server: cannot resolve ${server}: ${(err as Error).message}`);
  }
}
