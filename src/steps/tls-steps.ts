/**
 * The DNS and TLS steps: the NS delegation must be live before a CA can see the challenge
 * records, then one wildcard certificate is issued (or reused) by ACME DNS-01. Each ACME
 * phase shows as its own step.
 */
import { readFile } from 'node:fs/promises';
import type { Step, StepContext } from '../engine/index.js';
import { FailureError, UsageError } from '../errors.js';
import type { RecordedInfra } from '../providers/types.js';
import { instanceCertificateNames, renewalDue } from '../tls/certificate.js';
import { secretStore, type InstanceContext } from './context.js';

export interface DelegationOutputs {
  delegated: true;
  parentZone: string;
  nameServers: string[];
}

export function dnsDelegationStep(c: InstanceContext): Step<DelegationOutputs> {
  return {
    name: 'dns-delegation',
    title: `Check that ${c.config.dns.domain} is delegated to its zone`,
    // Cheap, and the delegation can be removed at the parent at any time.
    alwaysRun: true,
    inputs: (ctx) => c.provider.dnsZone(ctx.outputsOf<RecordedInfra>('infra')).nameServers,
    async run(ctx) {
      const zone = c.provider.dnsZone(ctx.outputsOf<RecordedInfra>('infra'));
      const { waitForDelegation, delegationInstructions } = await import('../dns/delegation.js');
      let shown = false;
      const status = await waitForDelegation({
        domain: c.config.dns.domain,
        expectedNameServers: zone.nameServers,
        // When Lookout added the NS records itself, only propagation is awaited: no human
        // has to act, so even --yes waits. Otherwise --yes fails at once with the records to add.
        wait: zone.delegated || !c.yes,
        timing: { deadlineMs: Math.max(1, c.config.dns.delegationTimeoutMinutes) * 60_000, intervalMs: 10_000 },
        signal: ctx.signal,
        onProgress: (s) => {
          if (!shown && !zone.delegated) {
            shown = true;
            ctx.log('warn', `Add these NS records at the parent zone (${s.parentZone}); waiting until they are visible:\n${delegationInstructions(s)}`);
          }
          ctx.progress({ message: s.summary.split('\n')[0] ?? '' });
        },
      });
      return { delegated: true, parentZone: status.parentZone, nameServers: status.expected };
    },
  };
}

export interface TlsOutputs {
  reused: boolean;
  reason?: string;
  names: string[];
  issuer: string;
  notBefore: string;
  notAfter: string;
  renewalDue: string;
  fingerprintSha256: string;
  selfSigned: boolean;
}

const PHASE_TITLES = {
  'record-written': 'Write the ACME challenge records',
  'record-visible': 'Wait until they are visible at every authoritative server',
  'challenge-valid': 'Have the CA validate the challenges',
  'order-finalized': 'Finalize the order and download the certificate',
} as const;

/** The RFC 2136 updater of `tls.rfc2136`, with its TSIG secret from the environment. */
export async function rfc2136Updater(rfc2136: NonNullable<InstanceContext['config']['tls']['rfc2136']>) {
  const secret = process.env[rfc2136.keySecretEnv]?.trim();
  if (!secret) throw new UsageError(`tls.rfc2136.keySecretEnv: the environment variable ${rfc2136.keySecretEnv} is not set`);
  const [{ Rfc2136Solver }, { resolveServerAddress }] = await Promise.all([import('../tls/solvers/rfc2136.js'), import('./dns-address.js')]);
  return new Rfc2136Solver({
    server: { address: await resolveServerAddress(rfc2136.server), port: rfc2136.port },
    zone: rfc2136.zone,
    key: { name: rfc2136.keyName, secret },
  });
}

async function solverFor(c: InstanceContext, infra: RecordedInfra) {
  const rfc2136 = c.config.tls.rfc2136;
  if (rfc2136) return rfc2136Updater(rfc2136);
  return c.provider.defaultSolver(c, infra);
}

/** Ensures the instance certificate: reused while valid for the same names, otherwise issued by ACME. */
export async function ensureInstanceCertificate(c: InstanceContext, ctx: StepContext, force: boolean): Promise<TlsOutputs> {
  const provided = await c.provider.providedCertificate?.(c);
  if (provided) return useProvidedCertificate(c, ctx, provided);
  const infra = ctx.outputsOf<RecordedInfra>('infra');
  const [{ ensureCertificate }, { issueCertificate }, { externalAccountBindingFromEnv }] = await Promise.all([
    import('../tls/ensure.js'),
    import('../tls/issue.js'),
    import('../tls/acme.js'),
  ]);
  const store = await secretStore(c);
  const tls = c.config.tls;
  const domain = c.config.dns.domain;
  const reporter = c.session.reporter;
  const started = new Map<string, number>();
  const result = await ensureCertificate({
    store,
    names: instanceCertificateNames(domain),
    force,
    acmeDirectory: tls.acmeDirectory,
    issue: async () => {
      const caBundlePem = tls.caBundleFile ? await readFile(tls.caBundleFile, 'utf8').catch((err: unknown) => {
        throw new UsageError(`tls.caBundleFile: cannot read ${tls.caBundleFile}: ${(err as Error).message}`);
      }) : undefined;
      return issueCertificate({
        domain,
        store,
        solver: await solverFor(c, infra),
        acme: {
          directoryUrl: tls.acmeDirectory,
          ...(tls.email ? { email: tls.email } : {}),
          ...(tls.externalAccountBinding ? { externalAccountBinding: externalAccountBindingFromEnv(tls.externalAccountBinding) } : {}),
          ...(caBundlePem ? { caBundlePem } : {}),
        },
        signal: ctx.signal,
        onWarning: (message) => ctx.log('warn', message),
        onPhase: (phase, event, detail) => {
          const step = `tls/${phase}`;
          const title = PHASE_TITLES[phase];
          if (event === 'started') {
            started.set(step, Date.now());
            reporter.emit({ type: 'step-started', step, title, attempt: 1 });
            if (detail) reporter.emit({ type: 'step-progress', step, message: detail });
          } else {
            reporter.emit({ type: 'step-done', step, title, durationMs: Date.now() - (started.get(step) ?? Date.now()) });
          }
        },
      });
    },
  });
  if (result.reused) ctx.log('info', `Reusing the certificate valid until ${result.info.notAfter.slice(0, 10)} (renewal due ${renewalDue(result.info).toISOString().slice(0, 10)})`);
  return {
    reused: result.reused,
    ...(result.reason ? { reason: result.reason } : {}),
    names: result.info.names,
    issuer: result.info.issuer,
    notBefore: result.info.notBefore,
    notAfter: result.info.notAfter,
    renewalDue: renewalDue(result.info).toISOString(),
    fingerprintSha256: result.info.fingerprintSha256,
    selfSigned: result.info.selfSigned,
  };
}

/** The user's own certificate, stored in place of an ACME one (renewing it is theirs to do). */
async function useProvidedCertificate(c: InstanceContext, ctx: StepContext, pair: import('../tls/certificate.js').KeyAndCertificate): Promise<TlsOutputs> {
  const { storeProvidedCertificate } = await import('../tls/provided.js');
  const result = await storeProvidedCertificate(await secretStore(c), pair, instanceCertificateNames(c.config.dns.domain));
  for (const w of result.warnings) ctx.log('warn', w);
  const { info } = result;
  return {
    reused: result.reused,
    ...(result.reused ? {} : { reason: 'provided' }),
    names: info.names,
    issuer: info.issuer,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    renewalDue: renewalDue(info).toISOString(),
    fingerprintSha256: info.fingerprintSha256,
    selfSigned: info.selfSigned,
  };
}

export function tlsStep(c: InstanceContext, options: { force?: boolean } = {}): Step<TlsOutputs> {
  return {
    name: 'tls',
    title: `Issue or renew the certificate for ${c.config.dns.domain} and *.${c.config.dns.domain}`,
    // Renewal is decided on every run (two thirds of the lifetime); reuse costs no order.
    alwaysRun: true,
    inputs: () => ({ domain: c.config.dns.domain, directory: c.config.tls.acmeDirectory }),
    async run(ctx) {
      const out = await ensureInstanceCertificate(c, ctx, options.force ?? false);
      if (!out.names.includes(`*.${c.config.dns.domain}`)) {
        throw new FailureError(`the certificate does not cover *.${c.config.dns.domain}`, { hint: 'Run `lookout tls renew --force`.' });
      }
      return out;
    },
  };
}

/**
 * The certificate's steps after the infrastructure: the delegation check when the provider
 * made the instance's zone, then the certificate itself.
 */
export function certificateSteps(c: InstanceContext): Step[] {
  return [...(c.provider.managesDnsZone ? [dnsDelegationStep(c)] : []), tlsStep(c)] as Step[];
}
