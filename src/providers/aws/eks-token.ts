/**
 * EKS authentication tokens, as `aws eks get-token` makes them: a presigned STS
 * GetCallerIdentity URL bound to the cluster name. Lookout's own Kubernetes provider uses
 * this through `lookout kube-token`, so creating an instance does not need the AWS CLI.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, SourceData } from '@smithy/types';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/** EKS accepts tokens for 15 minutes; clients refresh a little before that. */
const TOKEN_LIFETIME_MS = 14 * 60_000;

function toBytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** The SHA-256 (and HMAC-SHA-256) the signer needs, from node:crypto. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret ? createHmac('sha256', toBytes(secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

export async function eksToken(options: {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity;
  now?: Date;
}): Promise<{ token: string; expiresAt: Date }> {
  const now = options.now ?? new Date();
  const hostname = `sts.${options.region}.amazonaws.com`;
  const signer = new SignatureV4({ service: 'sts', region: options.region, sha256: NodeSha256, credentials: options.credentials });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, 'x-k8s-aws-id': options.clusterName },
    },
    { expiresIn: 60, signingDate: now },
  );
  const query = new URLSearchParams(signed.query as Record<string, string>).toString();
  const url = `https://${hostname}/?${query}`;
  return {
    token: `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`,
    expiresAt: new Date(now.getTime() + TOKEN_LIFETIME_MS),
  };
}

export { execCredential } from '../../k8s/exec-credential.js';
