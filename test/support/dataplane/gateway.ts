/**
 * The rendered gateway (nginx.conf from `plan --render`) under the real nginx on loopback: the
 * tenants' entries and tokens written as their tenant stacks write them (tokens made here, since
 * the render redacts them), a self-signed certificate for `*.<domain>`, and the config changed
 * only by `rewriteGatewayConfig`. Ready when `ready` says so (a query through to the store).
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderTenantEntry, renderTokenMapEntries, tenantFileName, tokensFileName } from '@lookout/gateway';
import { ProbeClient, type ProbeConnection } from '../../../src/verify/client.js';
import { freePort, startProcess, type RunningProcess } from '../processes.js';
import { selfSignedCertificate } from '../self-signed.js';
import { LOOPBACK, localResolverInclude, rewriteGatewayConfig, type ServiceResolver } from './rewrite.js';

export interface GatewayTenant {
  tenant: string;
  host: string;
  token: string;
}

export interface RunningGateway {
  tenants: GatewayTenant[];
  port: number;
  internalPort: number;
  ca: string;
  connection: ProbeConnection;
  process: RunningProcess;
  /** Where the tenants' entries and token maps are (the mounted tenants Secret's directory). */
  tenantsDir: string;
  stop(): Promise<void>;
}

export async function startRenderedGateway(options: {
  nginx: string;
  /** The rendered nginx.conf. */
  config: string;
  tenants: readonly string[];
  domain: string;
  services: ServiceResolver;
  /** A private directory (its parents must be passable by nginx's workers when run as root). */
  dir: string;
  /** Whether a request through the gateway shows the upstream ready; default: /healthz answers 200. */
  ready?: (client: ProbeClient, first: GatewayTenant) => Promise<boolean>;
}): Promise<RunningGateway> {
  const { dir } = options;
  const [tenantsDir, tlsDir, tempDir, logDir] = ['tenants', 'tls', 'temp', 'log'].map((d) => join(dir, d)) as [string, string, string, string];
  for (const d of [tenantsDir, tlsDir, tempDir, logDir]) mkdirSync(d, { recursive: true });
  // Started as root, nginx runs its workers as `nobody`: they must pass through to the temp directory.
  if (process.getuid?.() === 0) chmodSync(dir, 0o711);
  const tenants = options.tenants.map((tenant) => ({ tenant, host: `${tenant}.${options.domain}`, token: `lk_test_${randomBytes(24).toString('base64url')}` }));
  for (const t of tenants) {
    writeFileSync(join(tenantsDir, tenantFileName(t.tenant)), renderTenantEntry(t.tenant));
    writeFileSync(join(tenantsDir, tokensFileName(t.tenant)), renderTokenMapEntries(t.tenant, [t.token]), { mode: 0o600 });
  }
  const cert = await selfSignedCertificate([`*.${options.domain}`, options.domain]);
  writeFileSync(join(tlsDir, 'tls.crt'), cert.certificatePem);
  writeFileSync(join(tlsDir, 'tls.key'), cert.privateKeyPem, { mode: 0o600 });
  writeFileSync(join(tempDir, 'resolver.conf'), localResolverInclude());
  const ports = { publicPort: await freePort(), internalPort: await freePort() };
  const nginxConf = join(dir, 'nginx.conf');
  writeFileSync(nginxConf, rewriteGatewayConfig(options.config, { ...ports, tempDir, tenantsDir, tlsDir, logDir, services: options.services }));
  const args = ['-p', dir, '-c', nginxConf];
  await promisify(execFile)(options.nginx, ['-t', ...args]);
  const connection: ProbeConnection = { address: LOOPBACK, port: ports.publicPort, ca: cert.certificatePem };
  const probe = new ProbeClient(connection);
  const first = tenants[0]!;
  const ready =
    options.ready ??
    (async (client: ProbeClient, t: GatewayTenant) => (await client.request({ method: 'GET', host: t.host, path: '/healthz', timeoutMs: 2_000 })).status === 200);
  let nginx: RunningProcess;
  try {
    nginx = await startProcess(
      options.nginx,
      [...args, '-g', 'daemon off;'],
      async () => {
        try {
          return await ready(probe, first);
        } catch {
          return false;
        }
      },
      { what: 'nginx gateway', deadlineMs: 60_000 },
    );
  } finally {
    probe.close();
  }
  return { tenants, port: ports.publicPort, internalPort: ports.internalPort, ca: cert.certificatePem, connection, process: nginx, tenantsDir, stop: () => nginx.stop() };
}
