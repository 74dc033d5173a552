/**
 * Stand-ins for the gateway's neighbours: one HTTP server playing every upstream (it records
 * each request, and the `Host` nginx sends tells which upstream was meant), and a DNS server
 * that resolves the upstream names to loopback, so the gateway's `resolver` path is exercised
 * as in a cluster.
 */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';

export interface RecordedRequest {
  /** The `Host` header nginx sent: the upstream's host:port (or the public host for Grafana). */
  host: string;
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: http.IncomingHttpHeaders;
  /** All header lines as sent, to see duplicates. */
  rawHeaders: string[];
  bodyBytes: number;
  /** SHA-256 of the body, hex: proves a large body arrived intact. */
  bodySha256: string;
}

export interface StubUpstream {
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startStubUpstream(): Promise<StubUpstream> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    const hash = createHash('sha256');
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const recorded: RecordedRequest = {
        host: req.headers.host ?? '',
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bodyBytes,
        bodySha256: hash.digest('hex'),
      };
      requests.push(recorded);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ host: recorded.host, url: recorded.url, orgId: req.headers['x-scope-orgid'] ?? null }));
    });
  });
  // A request with `Connection: Upgrade` does not reach the request handler: record it and
  // answer a plain 200 (no switch), so the test sees what nginx forwarded.
  server.on('upgrade', (req: http.IncomingMessage, socket: import('node:net').Socket) => {
    requests.push({
      host: req.headers.host ?? '',
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyBytes: 0,
      bodySha256: createHash('sha256').digest('hex'),
    });
    const body = JSON.stringify({ upgrade: req.headers.upgrade });
    socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface StubDns {
  port: number;
  /** Names asked for, in order. */
  queries: string[];
  close(): Promise<void>;
}

/** Answers A queries for names under `suffix` with 127.0.0.1; NXDOMAIN for anything else. */
export async function startStubDns(suffix: string): Promise<StubDns> {
  const queries: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, remote) => {
    const query = dnsPacket.decode(message);
    const question = query.questions?.[0];
    if (!question) return;
    queries.push(question.name);
    const known = question.type === 'A' && question.name.endsWith(suffix);
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3), // rcode 3: NXDOMAIN
      questions: [question],
      answers: known ? [{ type: 'A', class: 'IN', name: question.name, ttl: 30, data: '127.0.0.1' }] : [],
    });
    socket.send(reply, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
