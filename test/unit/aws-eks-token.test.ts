import { describe, expect, it } from 'vitest';
import { eksToken, execCredential } from '../../src/providers/aws/eks-token.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'SESSION' };

describe('EKS token', () => {
  it('is a presigned STS GetCallerIdentity URL bound to the cluster, as aws eks get-token makes it', async () => {
    const now = new Date('2026-11-21T12:00:00Z');
    const { token, expiresAt } = await eksToken({ clusterName: 'lookout-prod', region: 'eu-west-1', credentials, now });
    expect(token.startsWith('k8s-aws-v1.')).toBe(true);
    const encoded = token.slice('k8s-aws-v1.'.length);
    expect(encoded).not.toMatch(/[=+/]/);
    const url = new URL(Buffer.from(encoded, 'base64url').toString());
    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    const q = url.searchParams;
    expect(q.get('Action')).toBe('GetCallerIdentity');
    expect(q.get('Version')).toBe('2011-06-15');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261121/eu-west-1/sts/aws4_request');
    expect(q.get('X-Amz-Date')).toBe('20261121T120000Z');
    expect(q.get('X-Amz-Expires')).toBe('60');
    // The cluster name is a signed header: a token for one cluster is refused by another.
    expect(q.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect(q.get('X-Amz-Security-Token')).toBe('SESSION');
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const other = await eksToken({ clusterName: 'lookout-other', region: 'eu-west-1', credentials, now });
    expect(new URL(Buffer.from(other.token.slice(11), 'base64url').toString()).searchParams.get('X-Amz-Signature')).not.toBe(
      q.get('X-Amz-Signature'),
    );
    expect(expiresAt.getTime() - now.getTime()).toBe(14 * 60_000);
  });

  it('is printed as an ExecCredential', () => {
    const cred = JSON.parse(execCredential('t', new Date('2026-11-21T12:14:00.123Z')));
    expect(cred).toEqual({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      spec: {},
      status: { expirationTimestamp: '2026-11-21T12:14:00Z', token: 't' },
    });
  });
});
