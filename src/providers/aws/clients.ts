/**
 * AWS SDK clients for one region. Imported only by the commands that talk to AWS, so the
 * SDK never loads for `--help` or `plan`.
 */
import { STSClient } from '@aws-sdk/client-sts';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { S3Client } from '@aws-sdk/client-s3';
import { EKSClient } from '@aws-sdk/client-eks';
import { Route53Client } from '@aws-sdk/client-route-53';
import type { AwsPreflightClients } from './preflight.js';

/** The SDK's adaptive retry mode backs off on throttling, which large accounts hit. */
const common = { maxAttempts: 5, retryMode: 'adaptive' } as const;

export function createAwsClients(region: string): AwsPreflightClients {
  return {
    sts: new STSClient({ region, ...common }),
    ec2: new EC2Client({ region, ...common }),
    quotas: new ServiceQuotasClient({ region, ...common }),
    s3: new S3Client({ region, ...common }),
    eks: new EKSClient({ region, ...common }),
    // Route53 is global; its API lives in us-east-1.
    route53: new Route53Client({ region: 'us-east-1', ...common }),
  };
}
