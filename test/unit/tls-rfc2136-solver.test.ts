/**
 * How the RFC 2136 solver drives `nsupdate`: the script it sends, the TSIG key file (0600,
 * in a private directory removed afterwards, never on the command line), and its errors.
 * A stand-in `nsupdate` records what it was given; the real one runs in the integration tests.
 */
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { NSUPDATE_INSTALL_HINT, Rfc2136Solver, type Rfc2136SolverOptions } from '../../src/tls/solvers/rfc2136.js';

const SECRET = Buffer.alloc(32, 3).toString('base64');
let work: string;
let fake: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lookout-rfc2136-'));
  fake = join(work, 'nsupdate');
  await writeFile(
    fake,
    [
      '#!/bin/sh',
      'out="$LOOKOUT_FAKE_NSUPDATE_OUT"',
      'printf "%s\\n" "$@" > "$out/args"',
      'stat -c %a "$2" > "$out/mode"',
      'stat -c %a "$(dirname "$2")" > "$out/dirmode"',
      'cp "$2" "$out/keyfile"',
      'printf "%s" "$2" > "$out/keypath"',
      'cat > "$out/script"',
      'if [ -n "$LOOKOUT_FAKE_NSUPDATE_FAIL" ]; then echo "$LOOKOUT_FAKE_NSUPDATE_FAIL" >&2; exit 2; fi',
      '',
    ].join('\n'),
  );
  await chmod(fake, 0o755);
  process.env.LOOKOUT_FAKE_NSUPDATE_OUT = work;
});

afterAll(async () => {
  delete process.env.LOOKOUT_FAKE_NSUPDATE_OUT;
  await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  delete process.env.LOOKOUT_FAKE_NSUPDATE_FAIL;
});

function solver(overrides: Partial<Rfc2136SolverOptions> = {}): Rfc2136Solver {
  return new Rfc2136Solver({
    server: { address: '192.0.2.53', port: 5353 },
    zone: 'obs.example.com',
    key: { name: 'lookout-key', secret: SECRET },
    nsupdatePath: fake,
    ...overrides,
  });
}

const out = (file: string) => readFile(join(work, file), 'utf8');

describe('Rfc2136Solver', () => {
  it('replaces the TXT record set in one update message', async () => {
    await solver().setTxt('_acme-challenge.obs.example.com', ['value-one', 'value-two']);
    expect(await out('script')).toBe(
      [
        'server 192.0.2.53 5353',
        'zone obs.example.com.',
        'update delete _acme-challenge.obs.example.com. TXT',
        'update add _acme-challenge.obs.example.com. 60 TXT "value-one"',
        'update add _acme-challenge.obs.example.com. 60 TXT "value-two"',
        'send',
        '',
      ].join('\n'),
    );
  });

  it('gives nsupdate the secret in a 0600 key file in a private directory, removed afterwards', async () => {
    await solver().removeTxt('_acme-challenge.obs.example.com');
    const args = (await out('args')).trim().split('\n');
    const keyPath = await out('keypath');
    expect(args).toEqual(['-k', keyPath, '-t', '20']);
    expect(args.join(' ')).not.toContain(SECRET);
    expect((await out('mode')).trim()).toBe('600');
    expect((await out('dirmode')).trim()).toBe('700');
    expect(await out('keyfile')).toBe(`key "lookout-key" {\n  algorithm hmac-sha256;\n  secret "${SECRET}";\n};\n`);
    await expect(stat(keyPath)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await out('script')).toContain('update delete _acme-challenge.obs.example.com. TXT\nsend\n');
  });

  it('explains a rejected key without showing the secret', async () => {
    process.env.LOOKOUT_FAKE_NSUPDATE_FAIL = `; TSIG error with server: tsig indicates error\nupdate failed: NOTAUTH(BADSIG) ${SECRET}`;
    const err = await solver().setTxt('_acme-challenge.obs.example.com', ['v']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe(
      'the DNS server 192.0.2.53:5353 rejected the TSIG key "lookout-key" for an update of zone obs.example.com ' +
        '(; TSIG error with server: tsig indicates error update failed: NOTAUTH(BADSIG) <secret>)',
    );
    expect((err as FailureError).message).not.toContain(SECRET);
  });

  it('explains a refused update and an unreachable server', async () => {
    process.env.LOOKOUT_FAKE_NSUPDATE_FAIL = 'update failed: REFUSED';
    const refused = await solver().removeTxt('_acme-challenge.obs.example.com').catch((e: unknown) => e);
    expect((refused as FailureError).message).toBe('the DNS server 192.0.2.53:5353 refused the update of zone obs.example.com (update failed: REFUSED)');
    expect((refused as FailureError).hint).toContain('allow-update { key "lookout-key"; }');

    process.env.LOOKOUT_FAKE_NSUPDATE_FAIL = '; Communication with 192.0.2.53#5353 failed: timed out';
    const silent = await solver().removeTxt('_acme-challenge.obs.example.com').catch((e: unknown) => e);
    expect((silent as FailureError).message).toContain('did not answer the update of zone obs.example.com');
  });

  it('says when nsupdate is missing, and how to install it', async () => {
    const err = await solver({ nsupdatePath: join(work, 'no-such-nsupdate') })
      .setTxt('_acme-challenge.obs.example.com', ['v'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe(
      `\`${join(work, 'no-such-nsupdate')}\` was not found: lookout runs it to send RFC 2136 dynamic DNS updates`,
    );
    expect((err as FailureError).hint).toBe(NSUPDATE_INSTALL_HINT);
    expect(NSUPDATE_INSTALL_HINT).toContain('apt-get install bind9-dnsutils');
  });

  it('refuses what would not make a well-formed update or key file', async () => {
    expect(() => solver({ key: { name: 'k', secret: 'not base64!' } })).toThrow('the TSIG secret of key "k" is not base64');
    expect(() => solver({ key: { name: 'bad name";', secret: SECRET } })).toThrow('is not a valid TSIG key name');
    await expect(solver().setTxt('_acme-challenge.other.example.org', ['v'])).rejects.toThrow('_acme-challenge.other.example.org is not in zone obs.example.com');
    await expect(solver().setTxt('_acme-challenge.obs.example.com', ['a" \nsend'])).rejects.toThrow('not a plain TXT value');
  });

  it('checks the records at the update server unless the zone’s servers are given', async () => {
    expect(await solver().authoritativeServers()).toEqual([{ address: '192.0.2.53', port: 5353 }]);
    const servers = [
      { address: '192.0.2.1', port: 53 },
      { address: '192.0.2.2', port: 53 },
    ];
    expect(await solver({ authoritativeServers: servers }).authoritativeServers()).toEqual(servers);
  });
});
