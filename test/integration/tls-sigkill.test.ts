/**
 * An issuance killed with SIGKILL right after writing the challenge record (no `finally`
 * runs), then run again: the re-run completes with the same ACME account and leaves no
 * challenge record behind. Real pebble and bind9 on loopback; the killed run is a child
 * process using the compiled dist/ (built by the global setup).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileStore } from '../../src/pulumi/diy-store.js';
import { SecretStore } from '../../src/state/secret-store.js';
import { ACME_ACCOUNT_SECRET, LOCAL_CA_BACKOFF, type AcmeAccountRecord } from '../../src/tls/acme.js';
import { issueCertificate, LOCAL_ISSUANCE_TIMING } from '../../src/tls/issue.js';
import { Rfc2136Solver } from '../../src/tls/solvers/rfc2136.js';
import type { Dns01Solver } from '../../src/tls/solvers/solver.js';
import { bind9Missing, startBind9, type Bind9 } from '../support/bind9.js';
import { pebbleMissing, startPebble, type Pebble } from '../support/pebble.js';

const missing = [bind9Missing(), pebbleMissing()].filter(Boolean).join('; ');
if (missing) console.warn(`SKIPPED tls issuance killed with SIGKILL: ${missing}`);

const DOMAIN = 'obs.example.test';
const CHALLENGE = `_acme-challenge.${DOMAIN}`;
const CHILD = fileURLToPath(new URL('./tls-sigkill-child.mjs', import.meta.url));

describe.skipIf(Boolean(missing))(`tls issuance killed with SIGKILL${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let bind: Bind9;
  let pebble: Pebble;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'lookout-tls-sigkill-'));
    bind = await startBind9({ zones: [{ name: DOMAIN }] });
    pebble = await startPebble({ dnsServer: bind.server });
  });

  afterAll(async () => {
    await pebble?.stop();
    await bind?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('a re-run after SIGKILL completes with the same account and leaves no stray records', async () => {
    const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.stdin.end(
      JSON.stringify({
        domain: DOMAIN,
        directoryUrl: pebble.directoryUrl,
        caBundlePem: pebble.httpsCaPem,
        stateDir,
        server: bind.server,
        key: bind.key,
      }),
    );
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    expect(exit, output).toEqual({ code: null, signal: 'SIGKILL' });
    expect(output).not.toContain('issued');

    // The killed run left its two challenge values behind, and its registered account.
    const stale = await bind.txt(CHALLENGE);
    expect(stale).toHaveLength(2);
    const store = new SecretStore(fileStore(stateDir), 'test', 'pw');
    const account = await store.get<AcmeAccountRecord>(ACME_ACCOUNT_SECRET);
    expect(account?.url).toMatch(/^https:\/\/localhost:\d+\//);

    // The re-run: what bind9 holds right after its write is only the new values.
    const inner = new Rfc2136Solver({ server: bind.server, zone: DOMAIN, key: bind.key });
    const afterWrite: string[][] = [];
    const solver: Dns01Solver = {
      describe: () => inner.describe(),
      setTxt: async (fqdn, values, signal) => {
        await inner.setTxt(fqdn, values, signal);
        afterWrite.push((await bind.txt(CHALLENGE)).sort());
        expect([...values].sort()).toEqual(afterWrite.at(-1));
      },
      removeTxt: (fqdn, signal) => inner.removeTxt(fqdn, signal),
      authoritativeServers: () => inner.authoritativeServers(),
    };
    const accountsBefore = pebble.log().split('\n').filter((l) => l.includes('POST /sign-me-up')).length;
    const issued = await issueCertificate({
      domain: DOMAIN,
      acme: { directoryUrl: pebble.directoryUrl, caBundlePem: pebble.httpsCaPem, backoff: LOCAL_CA_BACKOFF },
      store,
      solver,
      timing: LOCAL_ISSUANCE_TIMING,
    });
    expect(issued.info.names).toEqual([`*.${DOMAIN}`, DOMAIN]);
    expect(issued.accountUrl).toBe(account?.url);
    expect(pebble.log().split('\n').filter((l) => l.includes('POST /sign-me-up')).length).toBe(accountsBefore);
    expect(afterWrite).toHaveLength(1);
    expect(afterWrite[0]!.some((v) => stale.includes(v))).toBe(false);
    expect(await bind.txt(CHALLENGE)).toEqual([]);
  });
});
