/**
 * DNS-01 records by RFC 2136 dynamic update signed with TSIG, for DNS servers users run
 * themselves. The update is sent by `nsupdate` (BIND's tool, the reference implementation);
 * the TSIG secret goes to it in a key file readable only by the user, in a private temporary
 * directory removed afterwards, never on a command line.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serversFor, type LookupOptions } from '../../dns/authoritative.js';
import { absoluteName, isValidName, isValidTsigKeyName, normalizeName } from '../../dns/names.js';
import { describeServer, type DnsServer } from '../../dns/query.js';
import { FailureError, InterruptedError } from '../../errors.js';
import { CHALLENGE_TTL, quoteTxt, type Dns01Solver } from './solver.js';

export interface TsigKey {
  name: string;
  /** Base64, as `tsig-keygen` prints it. */
  secret: string;
  algorithm?: 'hmac-sha256';
}

export interface Rfc2136SolverOptions {
  /** The primary server that accepts updates. */
  server: DnsServer;
  /** The zone the challenge records belong to. */
  zone: string;
  key: TsigKey;
  ttl?: number;
  /** The zone's authoritative servers, where the records are checked; the update server when omitted. */
  authoritativeServers?: DnsServer[];
  lookup?: LookupOptions;
  /** `nsupdate` by default, found on PATH. */
  nsupdatePath?: string;
  /** How long one update may take. */
  timeoutMs?: number;
}

export const NSUPDATE_INSTALL_HINT =
  'Install BIND’s nsupdate: `sudo apt-get install bind9-dnsutils` (Debian, Ubuntu), `sudo dnf install bind-utils` (Fedora, RHEL) ' +
  'or `brew install bind` (macOS), then run the command again.';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** The record types that make a name an address, which pointAt replaces. */
const ADDRESS_TYPES = ['A', 'AAAA', 'CNAME'] as const;

export class Rfc2136Solver implements Dns01Solver {
  private readonly zone: string;

  constructor(private readonly options: Rfc2136SolverOptions) {
    if (!isValidName(options.zone)) throw new FailureError(`"${options.zone}" is not a valid zone name for RFC 2136 updates`);
    if (!isValidTsigKeyName(options.key.name)) throw new FailureError(`"${options.key.name}" is not a valid TSIG key name`);
    if (!BASE64.test(options.key.secret)) {
      throw new FailureError(`the TSIG secret of key "${options.key.name}" is not base64`, {
        hint: 'Use the secret exactly as `tsig-keygen -a hmac-sha256` prints it.',
      });
    }
    this.zone = normalizeName(options.zone);
  }

  describe(): string {
    return `RFC 2136 updates of zone ${this.zone} at ${describeServer(this.options.server)}`;
  }

  async setTxt(fqdn: string, values: readonly string[], signal?: AbortSignal): Promise<void> {
    const name = this.recordName(fqdn);
    const ttl = this.options.ttl ?? CHALLENGE_TTL;
    // One message, so the server applies the delete and the adds together or not at all.
    await this.update([`update delete ${name} TXT`, ...values.map((v) => `update add ${name} ${ttl} TXT ${quoteTxt(v)}`)], signal);
  }

  async removeTxt(fqdn: string, signal?: AbortSignal): Promise<void> {
    await this.update([`update delete ${this.recordName(fqdn)} TXT`], signal);
  }

  /**
   * Makes `fqdn` point at `target`: an A or AAAA record for an IP address, a CNAME for a host
   * name, replacing whatever address or alias it had, in one update.
   */
  async pointAt(fqdn: string, target: string, ttl: number, signal?: AbortSignal): Promise<void> {
    const name = this.recordName(fqdn);
    const type = isIP(target) === 4 ? 'A' : isIP(target) === 6 ? 'AAAA' : 'CNAME';
    if (type === 'CNAME' && !isValidName(target)) throw new FailureError(`"${target}" is neither an IP address nor a host name`);
    const data = type === 'CNAME' ? absoluteName(normalizeName(target)) : target;
    await this.update([...ADDRESS_TYPES.map((t) => `update delete ${name} ${t}`), `update add ${name} ${ttl} ${type} ${data}`], signal);
  }

  /** Removes the address and alias records at `fqdn` (what pointAt wrote). */
  async removeAddress(fqdn: string, signal?: AbortSignal): Promise<void> {
    const name = this.recordName(fqdn);
    await this.update(ADDRESS_TYPES.map((t) => `update delete ${name} ${t}`), signal);
  }

  async authoritativeServers(): Promise<DnsServer[]> {
    const servers = this.options.authoritativeServers ?? [this.options.server];
    const byName = servers.filter((s) => !isIP(s.address));
    if (byName.length === 0) return servers;
    const resolved = await Promise.all(
      byName.map((s) => serversFor([s.address], { ...this.options.lookup, port: s.port })),
    );
    return [...servers.filter((s) => isIP(s.address)), ...resolved.flat()];
  }

  private recordName(fqdn: string): string {
    // A wildcard owner (`*.<domain>`) is a name like any other to an update.
    if (!isValidName(fqdn.replace(/^\*\./, ''))) throw new FailureError(`"${fqdn}" is not a valid record name`);
    const name = normalizeName(fqdn);
    if (name !== this.zone && !name.endsWith(`.${this.zone}`)) {
      throw new FailureError(`${name} is not in zone ${this.zone}`, { hint: 'The RFC 2136 zone must be dns.domain or a zone above it.' });
    }
    return absoluteName(name);
  }

  private async update(commands: string[], signal?: AbortSignal): Promise<void> {
    const { server, key } = this.options;
    const script = [`server ${server.address} ${server.port}`, `zone ${absoluteName(this.zone)}`, ...commands, 'send', ''].join('\n');
    const dir = await mkdtemp(join(tmpdir(), 'lookout-tsig-'));
    try {
      const keyFile = join(dir, 'tsig.key');
      await writeFile(keyFile, `key "${key.name}" {\n  algorithm ${key.algorithm ?? 'hmac-sha256'};\n  secret "${key.secret}";\n};\n`, {
        mode: 0o600,
      });
      const timeoutMs = this.options.timeoutMs ?? 20_000;
      // -t bounds nsupdate's own wait for the server; the kill below is the backstop.
      const args = ['-k', keyFile, '-t', String(Math.max(1, Math.ceil(timeoutMs / 1000)))];
      await this.run(args, script, timeoutMs + 2_000, signal);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private run(args: string[], script: string, killAfterMs: number, signal?: AbortSignal): Promise<void> {
    const command = this.options.nsupdatePath ?? 'nsupdate';
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new InterruptedError('Interrupted before the DNS update was sent.'));
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const onAbort = (): void => void child.kill('SIGTERM');
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (err?: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          done(new FailureError(`\`${command}\` was not found: lookout runs it to send RFC 2136 dynamic DNS updates`, { hint: NSUPDATE_INSTALL_HINT, cause: err }));
        } else {
          done(new FailureError(`cannot run \`${command}\`: ${err.message}`, { cause: err }));
        }
      });
      child.on('close', (code, sig) => {
        if (signal?.aborted) return done(new InterruptedError('Interrupted during a DNS update.'));
        if (code === 0) return done();
        if (sig) return done(new FailureError(`the DNS update at ${describeServer(this.options.server)} did not finish within ${killAfterMs} ms`));
        done(this.explain(output));
      });
      child.stdin.on('error', () => {});
      child.stdin.end(script);
    });
  }

  private explain(rawOutput: string): FailureError {
    // nsupdate does not print the secret, but a message quoting its key file must not either.
    const output = rawOutput.split(this.options.key.secret).join('<secret>');
    const where = describeServer(this.options.server);
    const detail = output.trim().split('\n').filter(Boolean).slice(-2).join(' ').replace(/\s+/g, ' ');
    if (/BADSIG|BADKEY|BADTIME|tsig (verify|indicates)|NOTAUTH/i.test(output)) {
      return new FailureError(`the DNS server ${where} rejected the TSIG key "${this.options.key.name}" for an update of zone ${this.zone} (${detail})`, {
        hint: 'Check the key name, algorithm (hmac-sha256) and secret against the server’s `key` statement; for BADTIME, check this machine’s clock.',
      });
    }
    if (/REFUSED/.test(output)) {
      return new FailureError(`the DNS server ${where} refused the update of zone ${this.zone} (${detail})`, {
        hint: `Allow the key "${this.options.key.name}" to update the zone (BIND: \`allow-update { key "${this.options.key.name}"; };\` or an update-policy).`,
      });
    }
    if (/NOTZONE|not authoritative|NXDOMAIN/i.test(output)) {
      return new FailureError(`the DNS server ${where} does not serve zone ${this.zone} (${detail})`, {
        hint: 'Point the RFC 2136 settings at the primary server of the zone that holds dns.domain.',
      });
    }
    if (/timed out|communication with .* failed|could not (reach|talk)/i.test(output)) {
      return new FailureError(`the DNS server ${where} did not answer the update of zone ${this.zone} (${detail})`, {
        hint: 'Check the server address and port, and that this machine can reach it over UDP and TCP.',
      });
    }
    return new FailureError(`the DNS update of zone ${this.zone} at ${where} failed: ${detail || 'nsupdate exited with an error'}`);
  }
}
