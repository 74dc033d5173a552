import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderKubeconfig } from '../src/kubeconfig.js';

const params = {
  clusterName: 'lookout-prod',
  endpoint: 'https://ABCDEF0123456789ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com',
  certificateAuthorityData: Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64'),
  region: 'eu-west-1',
};

describe('renderKubeconfig', () => {
  it('parses as YAML and points the current context at the cluster', () => {
    const config = parse(renderKubeconfig(params));
    expect(config.kind).toBe('Config');
    expect(config['current-context']).toBe('lookout-prod');
    const context = config.contexts.find((c: any) => c.name === config['current-context']).context;
    const cluster = config.clusters.find((c: any) => c.name === context.cluster).cluster;
    expect(cluster.server).toBe(params.endpoint);
    expect(cluster['certificate-authority-data']).toBe(params.certificateAuthorityData);
    const user = config.users.find((u: any) => u.name === context.user).user;
    expect(user.exec.command).toBe('aws');
    expect(user.exec.args).toEqual(['eks', 'get-token', '--cluster-name', 'lookout-prod', '--region', 'eu-west-1', '--output', 'json']);
    expect(user.exec.apiVersion).toBe('client.authentication.k8s.io/v1beta1');
    expect(user.exec.env).toBeUndefined();
  });

  it('holds no token or key, only the command that fetches one', () => {
    const text = renderKubeconfig(params);
    expect(text).not.toMatch(/token:|client-key|password/);
  });

  it('passes a profile to the AWS CLI through the environment', () => {
    const user = parse(renderKubeconfig({ ...params, profile: 'observability' })).users[0].user;
    expect(user.exec.env).toEqual([{ name: 'AWS_PROFILE', value: 'observability' }]);
  });
});
