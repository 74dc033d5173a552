/**
 * A real BIND 9 (`named`) on a free loopback port for tests: the zones a test asks for,
 * dynamic updates allowed with a TSIG key (hmac-sha256) generated for this run, recursion
 * off. Started as the current user in a temporary directory, stopped and removed after.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryServer, type DnsServer } from '../../src/dns/query.js';
import { txtValuesAt } from '../../src/dns/txt-visibility.js';
import type { TsigKey } from '../../src/tls/solvers/rfc2136.js';
import { findExecutable, freePort, startProcess, type RunningProcess } from './processes.js';


export const BIND9_INSTALL = 'sudo apt-get install bind9 bind9-dnsutils';

/** Why the bind9 suites cannot run here (with the install command), or undefined when they can. */
export function bind9Missing(): string | undefined {
  const missing = ['named', 'nsupdate'].filter((tool) => !findExecutable(tool));
  return missing.length === 0 ? undefined : `${missing.join(' and ')} not installed (${BIND9_INSTALL})`;
}

export interface ZoneSpec {
  /** e.g. `obs.example.test`. */
  name: string;
  /** Zone file lines after the SOA, NS and the server's own A record, e.g. `obs IN NS ns1.obs.example.test.` */
  records?: string[];
}

export interface Bind9 {
  server: DnsServer;
  port: number;
  /** The TSIG key that may update every zone. */
  key: TsigKey;
  /** Runs `nsupdate` with the key against this server; rejects with its output on failure. */
  nsupdate(commands: string[]): Promise<void>;
  /** The TXT values at `name`, asked of this server directly. */
  txt(name: string): Promise<string[]>;
  /** What named printed so far. */
  log(): string;
  stop(): Promise<void>;
}


function zoneFile(zone: ZoneSpec): string {
  const apex = `${zone.name}.`;
  return [
    '$TTL 60',
    `@ IN SOA ns1.${apex} hostmaster.${apex} 1 60 60 600 60`,
    `@ IN NS ns1.${apex}`,
    'ns1 IN A 127.0.0.1',
    ...(zone.records ?? []),
    '',
  ].join('\n');
}

export async function startBind9(options: { zones: ZoneSpec[] }): Promise<Bind9> {
  const named = findExecutable('named');
  const nsupdatePath = findExecutable('nsupdate');
  if (!named || !nsupdatePath) throw new Error(bind9Missing());
  const dir = await mkdtemp(join(tmpdir(), 'lookout-bind9-'));
  const port = await freePort();
  const key: TsigKey = { name: 'lookout-test-key', secret: randomBytes(32).toString('base64'), algorithm: 'hmac-sha256' };
  const keyStatement = `key "${key.name}" {\n  algorithm hmac-sha256;\n  secret "${key.secret}";\n};\n`;
  await writeFile(join(dir, 'tsig.key'), keyStatement, { mode: 0o600 });
  for (const zone of options.zones) await writeFile(join(dir, `${zone.name}.zone`), zoneFile(zone));
  await writeFile(
    join(dir, 'named.conf'),
    [
      'options {',
      `  directory "${dir}";`,
      `  listen-on port ${port} { 127.0.0.1; };`,
      '  listen-on-v6 { none; };',
      '  pid-file none;',
      '  session-keyfile none;',
      '  recursion no;',
      '  dnssec-validation no;',
      '  notify no;',
      '  allow-transfer { none; };',
      '};',
      'controls { };',
      `include "${join(dir, 'tsig.key')}";`,
      ...options.zones.map(
        (z) => `zone "${z.name}" { type primary; file "${join(dir, `${z.name}.zone`)}"; allow-update { key "${key.name}"; }; };`,
      ),
      '',
    ].join('\n'),
  );

  const server: DnsServer = { address: '127.0.0.1', port };
  const first = options.zones[0]!.name;
  let named_: RunningProcess;
  try {
    named_ = await startProcess(
      named,
      ['-g', '-c', join(dir, 'named.conf')],
      async () => {
        const answer = await queryServer(server, first, 'SOA', { timeoutMs: 200 }).catch(() => undefined);
        return answer?.rcode === 'NOERROR' && answer.answers.length > 0;
      },
      { what: 'named', deadlineMs: 10_000 },
    );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const stop = async (): Promise<void> => {
    await named_.stop();
    await rm(dir, { recursive: true, force: true });
  };

  return {
    server,
    port,
    key,
    log: () => named_.output(),
    txt: (name) => txtValuesAt(server, name, { queryTimeoutMs: 1_000 }),
    stop,
    nsupdate: (commands) =>
      new Promise<void>((resolve, reject) => {
        const run = spawn(nsupdatePath, ['-k', join(dir, 'tsig.key')], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        run.stdout.on('data', (c: Buffer) => (out += c.toString()));
        run.stderr.on('data', (c: Buffer) => (out += c.toString()));
        run.on('error', reject);
        run.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nsupdate exited ${code}: ${out}`))));
        run.stdin.end([`server 127.0.0.1 ${port}`, ...commands, 'send', ''].join('\n'));
      }),
  };
}
