/**
 * The `tls` step as create runs it, against real pebble and bind9 on loopback: the config's
 * RFC 2136 solver and private-CA bundle, the certificate kept in the instance's encrypted
 * store, each ACME phase shown as its own step, and reuse on the next run (no new order).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { runSteps, type Step } from '../../src/engine/index.js';
import { loadBundle } from '../../src/bundle/manifest.js';
import { loadProvider } from '../../src/providers/registry.js';
import { collectingReporter } from '../../src/progress/events.js';
import type { CommandSession } from '../../src/commands/session.js';
import { secretStore, type InstanceContext } from '../../src/steps/context.js';
import { tlsStep, type TlsOutputs } from '../../src/steps/tls-steps.js';
import { readStoredCertificate } from '../../src/tls/ensure.js';
import { bind9Missing, startBind9, type Bind9 } from '../support/bind9.js';
import { pebbleMissing, startPebble, type Pebble } from '../support/pebble.js';

const missing = [bind9Missing(), pebbleMissing()].filter(Boolean).join('; ');
if (missing) console.warn(`SKIPPED the CLI tls step against pebble + bind9: ${missing}`);

const DOMAIN = 'obs.example.test';

describe.skipIf(Boolean(missing))(`the CLI tls step${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let bind: Bind9;
  let pebble: Pebble;
  let work: string;
  let c: InstanceContext;
  const reporter = collectingReporter();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lookout-cli-tls-'));
    bind = await startBind9({ zones: [{ name: DOMAIN }] });
    pebble = await startPebble({ dnsServer: bind.server });
    const caFile = join(work, 'pebble-https-ca.pem');
    await writeFile(caFile, pebble.httpsCaPem);
    process.env.LOOKOUT_HOME = work;
    process.env.LOOKOUT_TEST_TSIG = bind.key.secret;
    const config = parseConfigText(
      [
        'aws: { region: eu-west-1, apiAllowedCidrs: [10.0.0.0/8] }',
        `dns: { domain: ${DOMAIN} }`,
        'tls:',
        `  acmeDirectory: ${pebble.directoryUrl}`,
        `  caBundleFile: ${caFile}`,
        `  rfc2136: { server: ${bind.server.address}, port: ${bind.server.port}, zone: ${DOMAIN}, keyName: ${bind.key.name}, keySecretEnv: LOOKOUT_TEST_TSIG }`,
      ].join('\n'),
      'lookout.yaml',
      { provider: 'aws', name: 'tlstest' },
    );
    const session = { reporter, signal: new AbortController().signal, passphrase: 'pw', interactive: false } as unknown as CommandSession;
    c = {
      name: 'tlstest',
      config,
      configFile: 'lookout.yaml',
      session,
      // The config's provider; with tls.rfc2136 its own DNS-01 solver is never asked for.
      provider: await loadProvider('aws'),
      expectedCounts: Promise.resolve({}),
      bundle: loadBundle('2026.11.0'),
      yes: true,
    };
  });

  afterAll(async () => {
    delete process.env.LOOKOUT_HOME;
    delete process.env.LOOKOUT_TEST_TSIG;
    await pebble?.stop();
    await bind?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const infra: Step = { name: 'infra', title: 'infra (recorded)', run: async () => ({ zoneId: 'unused-with-rfc2136' }) };

  async function runTls(command: string): Promise<TlsOutputs> {
    const result = await runSteps({
      instance: 'tlstest',
      command,
      steps: [infra, tlsStep(c)],
      journalPath: join(work, 'journal.json'),
      lockPath: join(work, 'lock.json'),
      reporter,
      resume: 'unfinished',
    });
    return result.outputs.tls as TlsOutputs;
  }

  it('issues the wildcard certificate, shows each ACME phase as a step, and stores it encrypted', async () => {
    const orders = pebble.newOrderCount();
    const out = await runTls('create');
    expect(out.reused).toBe(false);
    expect(out.names).toEqual([`*.${DOMAIN}`, DOMAIN]);
    expect(out.selfSigned).toBe(false);
    expect(pebble.newOrderCount()).toBe(orders + 1);
    const phaseSteps = reporter.events.filter((e) => e.type === 'step-done' && e.step.startsWith('tls/')).map((e) => (e as { step: string }).step);
    expect(phaseSteps).toEqual(['tls/record-written', 'tls/record-visible', 'tls/challenge-valid', 'tls/order-finalized']);
    const stored = await readStoredCertificate(await secretStore(c));
    expect(stored?.info.fingerprintSha256).toBe(out.fingerprintSha256);
    expect(await bind.txt(`_acme-challenge.${DOMAIN}`)).toEqual([]);
  });

  it('reuses it on the next run: no order at the CA', async () => {
    const orders = pebble.newOrderCount();
    const first = (await readStoredCertificate(await secretStore(c)))!.info.fingerprintSha256;
    const out = await runTls('upgrade');
    expect(out.reused).toBe(true);
    expect(out.fingerprintSha256).toBe(first);
    expect(pebble.newOrderCount()).toBe(orders);
  });
});
