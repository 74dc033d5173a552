/**
 * A small Pulumi program built from @lookout/gateway: the multi-tenant gateway in the `lookout`
 * namespace behind an AWS NLB, with the instance certificate from stack config.
 *
 *   pulumi config set domain obs.example.com
 *   pulumi config set --secret tlsCertificate "$(cat tls.crt)"
 *   pulumi config set --secret tlsKey "$(cat tls.key)"
 *   pulumi up
 *
 * Each tenant stack then adds its two files to the `gateway-tenants` Secret, e.g. with
 * `new k8s.core.v1.SecretPatch(..., { data: renderTenantSecretData(tenant, tokens) })`.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { Gateway } from '@lookout/gateway';

const config = new pulumi.Config();
const provider = new k8s.Provider('k8s', { kubeconfig: config.requireSecret('kubeconfig') });

const gateway = new Gateway(
  'gateway',
  {
    namespace: 'lookout',
    domain: config.require('domain'),
    image: { repository: 'docker.io/nginxinc/nginx-unprivileged', tag: '1.28.0-alpine' },
    sizing: { replicas: 2, resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } } },
    tls: { certificate: config.requireSecret('tlsCertificate'), privateKey: config.requireSecret('tlsKey') },
    service: {
      annotations: {
        'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
        'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'instance',
        'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
      },
      externalTrafficPolicy: 'Local',
    },
    limits: { requestsPerSecond: 200, burst: 400 },
  },
  { provider },
);

export const loadBalancerHostname = gateway.loadBalancerHostname;
export const internalUrl = gateway.internalUrl;
export const tenantsSecret = gateway.tenantsSecretName;
