/**
 * The `kubernetes` block of lookout.yaml: a cluster the user already has. It names the
 * kubeconfig and context, the storage class, the S3-compatible object storage (the keys come
 * from environment variables the block names, never from the file), how the gateway is
 * exposed, how the DNS records get made, and optionally a certificate the user provides.
 * Loaded by the config schema; zod only.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { NAME_LIMITS, stackNames } from '../../naming.js';
import type { DerivedName, ProviderConfigBlock } from '../types.js';

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const envName = (description: string) =>
  z.string().regex(ENV_NAME, { message: 'must be the name of an environment variable' }).meta({ description });

/** S3 bucket names: 3–63 characters of lowercase letters, digits, `-` and `.`. */
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be an S3 bucket name: 3–63 lowercase letters, digits, dots and hyphens' })
  .refine((b) => !b.includes('..'), { message: 'must not contain two dots in a row' });

/** A Kubernetes object name (RFC 1123 subdomain), as storage classes and contexts are named. */
const objectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, { message: 'must be a Kubernetes object name: lowercase letters, digits, dots and hyphens' });

const hostOrIp = z
  .string()
  .min(1)
  .max(253)
  .refine((v) => isIP(v) !== 0 || /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(v), {
    message: 'must be a host name or an IP address',
  });

const cidr = z.union([z.cidrv4(), z.cidrv6()]);

const objectStorageSchema = z.strictObject({
  endpoint: z
    .url({ protocol: /^https?$/ })
    .refine((u) => {
      const url = new URL(u);
      return (url.pathname === '/' || url.pathname === '') && !url.search && !url.username;
    }, { message: 'must be the S3 API’s base URL, scheme, host and port only, such as https://s3.example.com:9000' })
    .meta({ description: 'Base URL of the S3-compatible API, e.g. https://s3.example.com. `http://` only for a store on a network the cluster trusts.' }),
  region: z.string().min(1).max(64).default('us-east-1').meta({ description: 'The store’s region (what its SigV4 signatures name).' }),
  forcePathStyle: z.boolean().default(true).meta({ description: 'Path-style requests (`<endpoint>/<bucket>`), which most S3-compatible stores need.' }),
  buckets: z
    .strictObject({
      metrics: bucketName.meta({ description: 'Cortex’s blocks.' }),
      logs: bucketName.meta({ description: 'Loki’s chunks and index.' }),
      rules: bucketName.meta({ description: 'Cortex’s rules and Alertmanager configs.' }),
    })
    .meta({ description: 'The buckets, which must exist; Lookout never creates or deletes them.' }),
  accessKeyIdEnv: envName('Environment variable holding the access key id.').default('LOOKOUT_S3_ACCESS_KEY_ID'),
  secretAccessKeyEnv: envName('Environment variable holding the secret access key, never the key itself.').default('LOOKOUT_S3_SECRET_ACCESS_KEY'),
  egressCidrs: z
    .array(cidr)
    .max(20)
    .optional()
    .meta({
      description:
        'Where the stores’ pods reach the endpoint, for their NetworkPolicies. Default: the endpoint’s address when it is an IP, otherwise any public address on its port.',
    }),
});

const gatewaySchema = z
  .strictObject({
    service: z
      .enum(['LoadBalancer', 'NodePort', 'ClusterIP'])
      .default('LoadBalancer')
      .meta({ description: '`LoadBalancer` asks the cluster for a load balancer; `NodePort` and `ClusterIP` sit behind one you run, whose address goes in `address`.' }),
    annotations: z
      .record(z.string().min(1).max(253), z.string().max(4096))
      .default({})
      .meta({ description: 'Annotations of the gateway’s Service, e.g. your load balancer controller’s settings.' }),
    loadBalancerClass: z.string().min(1).max(253).optional().meta({ description: 'Only with `LoadBalancer`.' }),
    loadBalancerSourceRanges: z.array(cidr).max(100).optional().meta({ description: 'Client CIDRs the load balancer admits; only with `LoadBalancer`.' }),
    nodePort: z.number().int().min(30000).max(32767).optional().meta({ description: 'The fixed node port; only with `NodePort`.' }),
    address: hostOrIp
      .optional()
      .meta({ description: 'The public address clients use (your own load balancer); required with `NodePort` and `ClusterIP`.' }),
  })
  .prefault({})
  .superRefine((g, ctx) => {
    if (typeof g !== 'object' || g === null) return;
    const type = g.service ?? 'LoadBalancer';
    const onlyFor = (field: 'loadBalancerClass' | 'loadBalancerSourceRanges' | 'nodePort', types: string[]) => {
      if (g[field] !== undefined && !types.includes(type)) {
        ctx.addIssue({ code: 'custom', path: [field], message: `applies only when service is ${types.join(' or ')}, not ${type}` });
      }
    };
    onlyFor('loadBalancerClass', ['LoadBalancer']);
    onlyFor('loadBalancerSourceRanges', ['LoadBalancer']);
    onlyFor('nodePort', ['NodePort']);
    if (type !== 'LoadBalancer' && g.address === undefined) {
      ctx.addIssue({ code: 'custom', path: ['address'], message: `is required when service is ${type}: the address of the load balancer you run in front of the gateway` });
    }
  }, { when: () => true })
  .meta({ description: 'How clients reach the gateway.' });

const certificateSchema = z
  .strictObject({
    certificateFile: z.string().min(1).meta({ description: 'PEM file: the certificate for `dns.domain` and `*.<domain>`, then its chain.' }),
    privateKeyFile: z.string().min(1).meta({ description: 'PEM file of its private key (keep it mode 0600).' }),
  })
  .optional()
  .meta({ description: 'A certificate you provide (e.g. from a private CA) instead of one from ACME; `tls` is then not used.' });

export const kubernetesSchema = z.strictObject({
  kubeconfig: z
    .string()
    .min(1)
    .default('~/.kube/config')
    .meta({ description: 'The kubeconfig file. Its credentials are read on every call and never stored.' }),
  context: objectName.meta({ description: 'The context of the kubeconfig that names the cluster (and the identity Lookout uses).' }),
  storageClass: objectName.meta({ description: 'The StorageClass of every volume (the stores’ WALs and caches, Grafana); it must exist.' }),
  clusterCidrs: z
    .array(cidr)
    .min(1)
    .max(20)
    .meta({
      description:
        'The cluster’s node, Service and pod CIDRs: where the API server and the kubelets are (the collector may reach them there), and what tenants’ alert receivers may not reach.',
    }),
  objectStorage: objectStorageSchema.meta({ description: 'The S3-compatible object storage.' }),
  gateway: gatewaySchema,
  dnsRecords: z
    .enum(['print', 'rfc2136'])
    .default('print')
    .meta({
      description:
        '`print`: create prints the record to add, `*.<domain>` pointing at the gateway. `rfc2136`: Lookout writes it with `tls.rfc2136` (whose zone must hold `dns.domain`) and removes it on destroy.',
    }),
  certificate: certificateSchema,
});

export type KubernetesConfig = z.output<typeof kubernetesSchema>;

/** The longest tenant name the other providers allow, which a tenant stack's name must fit here too. */
const TENANT_NAME_BUDGET = 54;

/**
 * Lookout's namespaces are fixed, so the instance name reaches only the stacks' names and the
 * owner label. Tenant names share the stack name's 100 characters with it: keeping the same
 * budget as the clouds (54) leaves the instance 38, and every config valid elsewhere valid here.
 */
function derivedKubernetesNames(instance: string): DerivedName[] {
  return [
    { what: `Pulumi stack name of a tenant (with a ${TENANT_NAME_BUDGET}-character tenant name)`, name: stackNames(instance).tenant('t'.repeat(TENANT_NAME_BUDGET)), limit: NAME_LIMITS.pulumiStack },
    { what: 'owner label value', name: instance, limit: 63 },
  ];
}

export const kubernetesConfigBlock: ProviderConfigBlock<typeof kubernetesSchema> = {
  id: 'kubernetes',
  schema: kubernetesSchema,
  description: 'An existing Kubernetes cluster; required when the provider is kubernetes.',
  requiredFields: 'it needs at least context, storageClass, clusterCidrs and objectStorage',
  derivedNames: derivedKubernetesNames,
  location: (k) => ({ field: 'kubernetes.context', value: k.context }),
  warnings(k) {
    return new URL(k.objectStorage.endpoint).protocol === 'http:'
      ? [`kubernetes.objectStorage.endpoint is plain HTTP (${k.objectStorage.endpoint}): the stores' data and keys cross the network unencrypted`]
      : [];
  },
  secretVariables: (k) => [
    { field: 'kubernetes.objectStorage.accessKeyIdEnv', variable: k.objectStorage.accessKeyIdEnv },
    { field: 'kubernetes.objectStorage.secretAccessKeyEnv', variable: k.objectStorage.secretAccessKeyEnv },
  ],
  summary(k) {
    const b = k.objectStorage.buckets;
    return [
      ['cluster', `context ${k.context} of ${k.kubeconfig}, storage class ${k.storageClass}`],
      ['storage', `${k.objectStorage.endpoint}: ${b.metrics}, ${b.logs}, ${b.rules}`],
      ['gateway', `${k.gateway.service} Service${k.gateway.address ? ` behind ${k.gateway.address}` : ''}`],
    ];
  },
};
