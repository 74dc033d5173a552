/**
 * One DNS question to one given server, straight over the wire: no system resolver, no cache,
 * no recursion. Deciding whether a delegation or a challenge record is live needs the answer
 * of a particular authoritative server, not whatever a resolver remembers.
 *
 * UDP first; a truncated answer is asked again over TCP (RFC 7766).
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type RecordType } from 'dns-packet';
import { normalizeName } from './names.js';

/** Where to send a question. `name` is the server's host name, when known, for messages. */
export interface DnsServer {
  address: string;
  port: number;
  name?: string;
}

export function describeServer(server: DnsServer): string {
  const where = isIPv6(server.address) ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`;
  return server.name ? `${normalizeName(server.name)} (${where})` : where;
}

/** One resource record, with its data as text: TXT strings joined, names without the root dot. */
export interface DnsRecord {
  name: string;
  type: string;
  ttl: number;
  data: string;
}

export interface DnsResponse {
  /** NOERROR, NXDOMAIN, REFUSED, SERVFAIL, ... */
  rcode: string;
  /** The AA flag: the server answered from a zone it serves. */
  authoritative: boolean;
  answers: DnsRecord[];
  /** NS records here, without AA, are a referral: the parent pointing at the child zone's servers. */
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  transport: 'udp' | 'tcp';
}

export interface QueryOptions {
  /** Per transport attempt. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Skip UDP; for tests of the TCP path and for servers known to truncate. */
  tcpOnly?: boolean;
}

/** The server did not give a usable answer (timeout, refused connection, garbage). */
export class DnsQueryError extends Error {
  constructor(
    readonly server: DnsServer,
    readonly reason: 'timeout' | 'unreachable' | 'malformed' | 'aborted',
    message: string,
  ) {
    super(`${describeServer(server)}: ${message}`);
    this.name = 'DnsQueryError';
  }
}

export const DEFAULT_QUERY_TIMEOUT_MS = 2_000;

export async function queryServer(server: DnsServer, name: string, type: RecordType, options: QueryOptions = {}): Promise<DnsResponse> {
  const id = randomInt(0, 0x10000);
  const packet = {
    type: 'query' as const,
    id,
    // No RECURSION_DESIRED: an authoritative server must answer from its own zones.
    flags: 0,
    questions: [{ type, name: normalizeName(name), class: 'IN' as const }],
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  if (!options.tcpOnly) {
    const udp = await exchangeUdp(server, dnsPacket.encode(packet), id, timeoutMs, options.signal);
    if (!udp.flag_tc) return toResponse(udp, 'udp', server, name, type);
  }
  const tcp = await exchangeTcp(server, dnsPacket.streamEncode(packet), id, timeoutMs, options.signal);
  return toResponse(tcp, 'tcp', server, name, type);
}

function toResponse(packet: DecodedPacket, transport: 'udp' | 'tcp', server: DnsServer, name: string, type: RecordType): DnsResponse {
  const question = packet.questions?.[0];
  if (!question || normalizeName(question.name) !== normalizeName(name) || question.type !== type) {
    throw new DnsQueryError(server, 'malformed', `answered a different question than ${type} ${normalizeName(name)}`);
  }
  return {
    rcode: (packet as DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR',
    authoritative: packet.flag_aa,
    answers: (packet.answers ?? []).map(toRecord),
    authorities: (packet.authorities ?? []).map(toRecord),
    additionals: (packet.additionals ?? []).filter((a) => a.type !== 'OPT').map(toRecord),
    transport,
  };
}

function toRecord(answer: Answer): DnsRecord {
  const ttl = 'ttl' in answer && typeof answer.ttl === 'number' ? answer.ttl : 0;
  return { name: normalizeName(answer.name), type: answer.type, ttl, data: recordData(answer) };
}

function recordData(answer: Answer): string {
  switch (answer.type) {
    case 'TXT': {
      // One TXT record may hold several character strings; together they are its value.
      const parts = Array.isArray(answer.data) ? answer.data : [answer.data];
      return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : p)).join('');
    }
    case 'NS':
    case 'CNAME':
    case 'DNAME':
    case 'PTR':
      return normalizeName(answer.data);
    case 'A':
    case 'AAAA':
      return answer.data;
    case 'SOA':
      return `${normalizeName(answer.data.mname)} ${normalizeName(answer.data.rname)} ${answer.data.serial}`;
    default:
      return JSON.stringify((answer as { data?: unknown }).data ?? null);
  }
}

function abortError(server: DnsServer): DnsQueryError {
  return new DnsQueryError(server, 'aborted', 'query cancelled');
}

function decodeOrFail(server: DnsServer, bytes: Buffer, decode: (b: Buffer) => DecodedPacket): DecodedPacket | undefined {
  try {
    return decode(bytes);
  } catch {
    throw new DnsQueryError(server, 'malformed', 'sent an answer that is not a DNS message');
  }
}

function exchangeUdp(server: DnsServer, query: Buffer, id: number, timeoutMs: number, signal?: AbortSignal): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(server));
    const socket = createSocket(isIPv6(server.address) ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (err: Error | undefined, packet?: DecodedPacket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.close();
      if (err) reject(err);
      else resolve(packet!);
    };
    const onAbort = (): void => finish(abortError(server));
    const timer = setTimeout(() => finish(new DnsQueryError(server, 'timeout', `no answer over UDP within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(new DnsQueryError(server, 'unreachable', `UDP ${err.code ?? err.message}`)),
    );
    socket.on('message', (bytes) => {
      let packet: DecodedPacket | undefined;
      try {
        packet = decodeOrFail(server, bytes, (b) => dnsPacket.decode(b));
      } catch (err) {
        return finish(err as Error);
      }
      // Anything else on this port (a late answer to someone else) is not ours: keep waiting.
      if (packet?.id === id && packet.type === 'response') finish(undefined, packet);
    });
    // A connected socket reports ICMP port-unreachable as ECONNREFUSED instead of timing out.
    socket.connect(server.port, server.address, () => {
      if (!settled) socket.send(query);
    });
  });
}

function exchangeTcp(server: DnsServer, query: Buffer, id: number, timeoutMs: number, signal?: AbortSignal): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(server));
    const socket = connect({ host: server.address, port: server.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined, packet?: DecodedPacket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(packet!);
    };
    const onAbort = (): void => finish(abortError(server));
    const timer = setTimeout(() => finish(new DnsQueryError(server, 'timeout', `no answer over TCP within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(new DnsQueryError(server, 'unreachable', `TCP ${err.code ?? err.message}`)),
    );
    socket.on('connect', () => socket.write(query));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
      let packet: DecodedPacket | undefined;
      try {
        packet = decodeOrFail(server, received, (b) => dnsPacket.streamDecode(b) as DecodedPacket);
      } catch (err) {
        return finish(err as Error);
      }
      if (packet?.id !== id) return finish(new DnsQueryError(server, 'malformed', 'answered with a different message id'));
      finish(undefined, packet);
    });
    socket.on('end', () => finish(new DnsQueryError(server, 'unreachable', 'closed the TCP connection without an answer')));
  });
}
