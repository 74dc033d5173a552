/**
 * Test support: runs programs holding `Tenant` components under Pulumi's mock runtime, with
 * deterministic credentials derived from the tenant and token names, so tests can look for the
 * exact token and password values wherever they might leak.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { createHash } from 'node:crypto';
import { runProgramUnderMocks, type MockedResource } from '../../../src/plan/mock-runtime.js';
import { Tenant, type TenantArgs } from '../src/index.js';

export const K8S_PROVIDER = 'pulumi:providers:kubernetes';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` alphanumerics derived from `seed`: stands in for the caller's random credentials. */
export function fixedRandom(seed: string, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) {
    for (const byte of createHash('sha256').update(`${seed}/${i}`).digest()) {
      if (out.length < length) out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
    }
  }
  return out;
}

export const userToken = (tenant: string, name: string) => `lk_${tenant}_${fixedRandom(`${tenant}/token/${name}`, 48)}`;
export const internalToken = (tenant: string) => `lk_${tenant}_${fixedRandom(`${tenant}/grafana-token`, 48)}`;
export const adminPasswordOf = (tenant: string) => fixedRandom(`${tenant}/grafana-admin`, 32);

/** The arguments of a tenant whose tokens have these names, with deterministic credentials. */
export function baseArgs(tenant: string, overrides: Partial<Omit<TenantArgs, 'tokens'>> & { tokens?: string[] } = {}): TenantArgs {
  const { tokens: names = ['default'], ...rest } = overrides;
  return {
    tenant,
    domain: 'obs.example.com',
    tokens: Object.fromEntries(names.map((n) => [n, userToken(tenant, n)])),
    grafanaCredentials: { datasourceToken: internalToken(tenant), adminPassword: adminPasswordOf(tenant) },
    grafana: {
      image: { repository: 'docker.io/grafana/grafana', tag: '12.4.0' },
      sizing: {
        replicas: 1,
        storage: '2Gi',
        resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
      },
      storageClassName: 'gp3',
    },
    platformNamespace: 'lookout',
    gateway: {
      internalUrl: 'http://gateway-internal.lookout.svc.cluster.local:8080',
      tenantsSecretName: 'gateway-tenants',
    },
    ...rest,
  };
}

export interface TenantRun {
  resources: MockedResource[];
  /** The components, to check the secretness of their outputs. */
  tenants: Tenant[];
  /** Resolved outputs per component name (secrets unwrapped). */
  outputs: Record<string, { namespace: string; tokens: Record<string, string>; adminPassword: string; grafanaUrl: string }>;
}

/** A tenant stack program: its own Kubernetes provider and the given tenants, like `stacks/tenant.ts`. */
export async function runTenants(tenants: Array<{ name: string; args: TenantArgs }>): Promise<TenantRun> {
  const made: Tenant[] = [];
  const result = await runProgramUnderMocks(
    async () => {
      const provider = new k8s.Provider('k8s', { kubeconfig: '{}' });
      const out: Record<string, unknown> = {};
      for (const { name, args } of tenants) {
        const t = new Tenant(name, args, { provider });
        made.push(t);
        out[name] = { namespace: t.namespace, tokens: t.tokens, adminPassword: t.adminPassword, grafanaUrl: t.grafanaUrl };
      }
      return out;
    },
    { project: 'lookout-test', stack: 'test-tenant' },
  );
  return { resources: result.resources, tenants: made, outputs: result.outputs as TenantRun['outputs'] };
}

export const ofType = (resources: readonly MockedResource[], type: string) => resources.filter((r) => r.type === type);

export function oneOf(resources: readonly MockedResource[], type: string): MockedResource {
  const found = ofType(resources, type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0]!;
}

export const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

/** Resolves an Output's secretness after the program ran. */
export const isSecret = (o: pulumi.Output<unknown>) => pulumi.isSecret(o);
