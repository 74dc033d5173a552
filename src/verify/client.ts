/**
 * The probe's HTTP client. It speaks to a tenant's virtual host (`<tenant>.<domain>`: SNI,
 * certificate name and Host header) while connecting wherever the caller says: the load
 * balancer's hostname before DNS has propagated, or 127.0.0.1 in tests. Built on node:https,
 * because undici is only a transitive dependency here and fetch cannot set SNI or Host apart
 * from the URL.
 */
import http from 'node:http';
import https from 'node:https';
import * as tls from 'node:tls';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';

export interface ProbeConnection {
  /** Where to open the connection. Default: the tenant host itself, through DNS. */
  address?: string;
  /** Default 443 (https) or 80 (http). */
  port?: number;
  /** 'http' for a plain listener (the gateway's internal port, test stubs). Default 'https'. */
  protocol?: 'https' | 'http';
  /**
   * PEM certificates to trust besides the public roots: the instance's own certificate,
   * until a CA-issued one replaces it.
   */
  ca?: string | readonly string[];
  /**
   * SHA-256 fingerprint (hex) of the certificate the gateway must serve. When set, the
   * connection is accepted if and only if the served leaf is exactly this certificate,
   * whoever issued it: the probe then proves the gateway serves the instance's own
   * certificate, also for staging or private CAs whose roots this machine does not trust.
   */
  pinnedCertificateSha256?: string;
}

/** Opens each TLS connection itself and keeps it only if the server's leaf matches the pin. */
class PinningAgent extends https.Agent {
  constructor(
    private readonly pin: string,
    options: https.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | undefined {
    // Trust is decided by the pin below, not by a CA: nothing is sent before it passes.
    const socket = tls.connect({ ...(options as tls.ConnectionOptions), rejectUnauthorized: false });
    const done = callback ?? (() => {});
    socket.once('secureConnect', () => {
      const served = (socket.getPeerCertificate().fingerprint256 ?? '').replace(/:/g, '').toLowerCase();
      if (served === this.pin) return done(null, socket);
      const err = new Error(`the served certificate (sha256 ${served.slice(0, 16)}…) is not the instance certificate (${this.pin.slice(0, 16)}…)`);
      socket.destroy(err);
      done(err, socket);
    });
    socket.once('error', (err) => done(err, socket));
    return undefined;
  }
}

export interface ProbeRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** The virtual host: `<tenant>.<domain>`. */
  host: string;
  /** Path and query string. */
  path: string;
  /** Sent as `Authorization: Bearer <token>`; never part of an error message. */
  token?: string;
  headers?: Readonly<Record<string, string>>;
  body?: Uint8Array | string;
  signal?: AbortSignal;
  /** Whole request, body included. Default 10 s. */
  timeoutMs?: number;
}

export interface ProbeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type TransportFailure = 'timeout' | 'aborted' | 'network';

/** The request got no HTTP response. The message names the address, never a header value. */
export class ProbeTransportError extends Error {
  constructor(
    readonly kind: TransportFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProbeTransportError';
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Enough for any probe answer; a larger body is cut, since only its start is ever shown. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class ProbeClient {
  private readonly secureContext?: SecureContext;
  private readonly agent: http.Agent | https.Agent;

  constructor(readonly connection: ProbeConnection = {}) {
    const extra = connection.ca === undefined ? [] : typeof connection.ca === 'string' ? [connection.ca] : [...connection.ca];
    // `ca` replaces Node's trust store rather than adding to it, so keep the public roots too:
    // the same probe must still work once the certificate is a public one. Built once: parsing
    // the ~150 roots for every request would cost more than the request.
    if (extra.length > 0) this.secureContext = createSecureContext({ ca: [...rootCertificates, ...extra] });
    // Kept-alive connections (and TLS session resumption): a verify run sends dozens of
    // requests to each host, and polls.
    const agentOptions = { keepAlive: true, maxSockets: 16, scheduling: 'lifo' as const };
    const pin = connection.pinnedCertificateSha256?.replace(/:/g, '').toLowerCase();
    this.agent =
      this.protocol() === 'http' ? new http.Agent(agentOptions) : pin ? new PinningAgent(pin, agentOptions) : new https.Agent(agentOptions);
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** `address:port` as shown in messages. */
  target(host: string): string {
    return `${this.connection.address ?? host}:${this.port()}`;
  }

  request(req: ProbeRequest): Promise<ProbeResponse> {
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = { ...req.headers, Host: req.host };
    if (req.token !== undefined) headers.Authorization = `Bearer ${req.token}`;
    const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    if (body) headers['Content-Length'] = String(body.byteLength);

    const failure = (err: unknown): ProbeTransportError => {
      if (timeout.aborted) return new ProbeTransportError('timeout', `no complete response from ${this.target(req.host)} within ${timeoutMs} ms`);
      if (req.signal?.aborted) return new ProbeTransportError('aborted', 'the request was cancelled');
      const code = (err as NodeJS.ErrnoException | undefined)?.code;
      const reason = err instanceof Error ? err.message : String(err);
      return new ProbeTransportError('network', `could not reach ${this.target(req.host)}: ${reason}${code && !reason.includes(code) ? ` (${code})` : ''}`, {
        cause: err,
      });
    };

    return new Promise<ProbeResponse>((resolve, reject) => {
      if (signal.aborted) return reject(failure(signal.reason));
      const options: https.RequestOptions = {
        method: req.method,
        host: this.connection.address ?? req.host,
        port: this.port(),
        path: req.path,
        headers,
        signal,
        agent: this.agent,
      };
      const onResponse = (res: http.IncomingMessage): void => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size >= MAX_BODY_BYTES) return;
          chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (err) => reject(failure(err)));
        res.on('aborted', () => reject(failure(new Error('the connection closed before the response was complete'))));
      };
      const request =
        this.protocol() === 'https'
          ? https.request({ ...options, servername: req.host, ...(this.secureContext ? { secureContext: this.secureContext } : {}) }, onResponse)
          : http.request(options, onResponse);
      request.on('error', (err) => reject(failure(err)));
      request.end(body);
    });
  }

  private protocol(): 'https' | 'http' {
    return this.connection.protocol ?? 'https';
  }

  private port(): number {
    return this.connection.port ?? (this.protocol() === 'https' ? 443 : 80);
  }
}
