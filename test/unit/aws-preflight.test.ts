import { EC2Client, DescribeAddressesCommand, DescribeAvailabilityZonesCommand, DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { EKSClient, DescribeClusterCommand, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { Route53Client, GetHostedZoneCommand, ListHostedZonesByNameCommand } from '@aws-sdk/client-route-53';
import { S3Client, HeadBucketCommand, NotFound } from '@aws-sdk/client-s3';
import { ServiceQuotasClient, GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialsProviderError } from '@smithy/core/config';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { awsPreflight, EIP_QUOTA_CODE } from '../../src/providers/aws/preflight.js';
import { ConfigError, FailureError } from '../../src/errors.js';
import { accountRegionSuffix, awsNames } from '../../src/providers/aws/naming.js';

const ACCOUNT = '111122223333';
const sts = mockClient(STSClient);
const ec2 = mockClient(EC2Client);
const quotas = mockClient(ServiceQuotasClient);
const s3 = mockClient(S3Client);
const eks = mockClient(EKSClient);
const route53 = mockClient(Route53Client);

const clients = () => ({
  sts: new STSClient({ region: 'eu-west-1' }),
  ec2: new EC2Client({ region: 'eu-west-1' }),
  quotas: new ServiceQuotasClient({ region: 'eu-west-1' }),
  s3: new S3Client({ region: 'eu-west-1' }),
  eks: new EKSClient({ region: 'eu-west-1' }),
  route53: new Route53Client({ region: 'us-east-1' }),
});

const base = parseConfigText(
  'aws:\n  region: eu-west-1\n  apiAllowedCidrs: [203.0.113.0/24]\ndns:\n  domain: obs.example.com\n',
  'lookout.yaml',
  { provider: 'aws', name: 'demo' },
);
type Config = typeof base;
function config(patch: { aws?: Partial<NonNullable<Config['aws']>>; dns?: Partial<Config['dns']> } = {}): Config {
  return { ...base, aws: { ...base.aws!, ...patch.aws }, dns: { ...base.dns, ...patch.dns } };
}
const fresh = { configFile: 'lookout.yaml', knownInstance: false } as const;

function notFound(name: string, status = 404) {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

beforeEach(() => {
  for (const m of [sts, ec2, quotas, s3, eks, route53]) m.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/me` });
  ec2.on(DescribeRegionsCommand).resolves({ Regions: [{ RegionName: 'eu-west-1' }, { RegionName: 'us-east-1' }] });
  ec2.on(DescribeAvailabilityZonesCommand).resolves({
    AvailabilityZones: [{ ZoneName: 'eu-west-1c' }, { ZoneName: 'eu-west-1a' }, { ZoneName: 'eu-west-1b' }],
  });
  ec2.on(DescribeAddressesCommand).resolves({ Addresses: [{}] });
  quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 5 } });
  eks.on(DescribeClusterCommand).rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }));
  s3.on(HeadBucketCommand).rejects(new NotFound({ message: 'nf', $metadata: { httpStatusCode: 404 } }));
  route53.on(ListHostedZonesByNameCommand).resolves({ HostedZones: [] });
  route53
    .on(ListHostedZonesByNameCommand, { DNSName: 'example.com' })
    .resolves({ HostedZones: [{ Id: '/hostedzone/ZPARENT', Name: 'example.com.', CallerReference: 'x', Config: { PrivateZone: false } }] });
});

describe('AWS preflight', () => {
  it('passes for a fresh instance and resolves the parent zone and zones', async () => {
    const result = await awsPreflight(config(), clients(), fresh);
    expect(result.accountId).toBe(ACCOUNT);
    expect(result.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    expect(result.parentZoneId).toBe('ZPARENT');
    expect(result.elasticIps).toEqual({ quota: 5, inUse: 1, needed: 3 });
    expect(quotas.commandCalls(GetServiceQuotaCommand)[0]!.args[0].input).toEqual({ ServiceCode: 'ec2', QuotaCode: EIP_QUOTA_CODE });
    // Every bucket name the stack will use was checked against this account.
    const suffix = accountRegionSuffix(ACCOUNT, 'eu-west-1');
    expect(s3.commandCalls(HeadBucketCommand).map((c) => c.args[0].input)).toEqual(
      (['metrics', 'logs', 'rules'] as const).map((p) => ({ Bucket: awsNames('demo').bucketName(p, suffix), ExpectedBucketOwner: ACCOUNT })),
    );
  });

  it('fails with exit 1 and the environment to set when there are no credentials', async () => {
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const err = await awsPreflight(config(), clients(), fresh).catch((e) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe('no AWS credentials were found');
    expect(err.hint).toMatch(/AWS_PROFILE/);
    expect(err.hint).toMatch(/AWS_ACCESS_KEY_ID/);
    // Nothing else was asked once identity failed.
    expect(ec2.calls()).toHaveLength(0);
  });

  describe('when AWS_PROFILE names a profile', () => {
    const saved = { ...process.env };
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'lookout-aws-profile-'));
      writeFileSync(join(dir, 'config'), '[profile team-admin]\nregion = eu-west-1\n[default]\nregion = eu-west-1\n');
      Object.assign(process.env, { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') });
    });
    afterEach(() => {
      process.env = { ...saved };
      rmSync(dir, { recursive: true, force: true });
    });

    it('that does not exist, it says so by name and lists the profiles there are', async () => {
      process.env.AWS_PROFILE = 'tem-admin';
      // The SDK's own error for this case: it only says that no provider had credentials.
      sts.on(GetCallerIdentityCommand).rejects(new CredentialsProviderError('Could not load credentials from any providers'));
      const err = await awsPreflight(config(), clients(), fresh).catch((e) => e);
      expect(err).toBeInstanceOf(FailureError);
      expect(err.message).toBe(`the AWS profile "tem-admin" (from AWS_PROFILE) does not exist in ${join(dir, 'config')} or ${join(dir, 'credentials')}`);
      expect(err.hint).toContain('aws configure --profile tem-admin');
      expect(err.hint).toContain('set AWS_PROFILE to one of: default, team-admin.');
    });

    it('that exists but gives no credentials, it is the usual credentials error', async () => {
      process.env.AWS_PROFILE = 'team-admin';
      sts.on(GetCallerIdentityCommand).rejects(new CredentialsProviderError('Could not load credentials from any providers'));
      const err = await awsPreflight(config(), clients(), fresh).catch((e) => e);
      expect(err.message).toBe('no AWS credentials were found');
    });
  });

  it('says what to check when the endpoint cannot be reached (a real connection refused on loopback)', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // The SDK's real network error, from a real client (of a service this file does not mock)
    // sent to a loopback port nothing listens on; STS then fails with it.
    const tagging = new ResourceGroupsTaggingAPIClient({
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${port}`,
      maxAttempts: 1,
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' },
    });
    const networkError = await tagging.send(new GetResourcesCommand({})).catch((e: unknown) => e);
    sts.on(GetCallerIdentityCommand).rejects(networkError as Error);
    const err = await awsPreflight(config(), clients(), fresh).catch((e) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toBe(`cannot reach the AWS endpoint for sts:GetCallerIdentity: ECONNREFUSED (127.0.0.1:${port})`);
    expect(err.hint).toMatch(/network connection and DNS, any proxy it needs \(HTTPS_PROXY\), .*AWS_ENDPOINT_URL/);
  });

  it('refuses a region that is not enabled, naming aws.region in the config', async () => {
    const err = await awsPreflight(config({ aws: { region: 'ap-east-1' } }), clients(), fresh).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.exitCode).toBe(2);
    expect(err.issues[0].path).toBe('aws.region');
    expect(err.issues[0].message).toMatch(/not a region enabled.*eu-west-1, us-east-1/);
  });

  it('refuses more AZs than the region has', async () => {
    ec2.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: [{ ZoneName: 'eu-west-1a' }, { ZoneName: 'eu-west-1b' }] });
    const err = await awsPreflight(config(), clients(), fresh).catch((e) => e);
    expect(err.issues[0].path).toBe('aws.availabilityZones');
  });

  it('refuses when the Elastic IPs for the NAT gateways do not fit the quota, suggesting a single NAT', async () => {
    ec2.on(DescribeAddressesCommand).resolves({ Addresses: [{}, {}, {}] });
    const err = await awsPreflight(config(), clients(), fresh).catch((e) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toMatch(/need 3, 3 of 5 are in use/);
    expect(err.hint).toMatch(/natGateways: single/);
    // One NAT gateway fits.
    const ok = await awsPreflight(config({ aws: { natGateways: 'single' } }), clients(), fresh);
    expect(ok.elasticIps.needed).toBe(1);
  });

  it('falls back to the default EIP quota with a warning when Service Quotas is denied', async () => {
    quotas.on(GetServiceQuotaCommand).rejects(notFound('AccessDeniedException', 403));
    const result = await awsPreflight(config(), clients(), fresh);
    expect(result.elasticIps.quota).toBe(5);
    expect(result.warnings.join('\n')).toMatch(/could not read the Elastic IP quota/);
  });

  it('refuses an instance that exists in the account but is unknown to this machine', async () => {
    eks.on(DescribeClusterCommand).resolves({ cluster: { name: 'lookout-demo' } });
    const err = await awsPreflight(config(), clients(), fresh).catch((e) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toMatch(/already exists in account 111122223333.*EKS cluster lookout-demo/);
    expect(err.hint).toMatch(/--state/);
    // The same instance, known locally, is a resume: it passes and needs no new EIPs.
    const resumed = await awsPreflight(config(), clients(), { configFile: 'lookout.yaml', knownInstance: true, recordedAccountId: ACCOUNT });
    expect(resumed.existing).toBe(true);
    expect(resumed.elasticIps.needed).toBe(0);
  });

  it('refuses a bucket name owned by another account', async () => {
    s3.on(HeadBucketCommand).rejects(notFound('Forbidden', 403));
    const err = await awsPreflight(config(), clients(), fresh).catch((e) => e);
    expect(err.message).toMatch(/already taken by another account/);
  });

  it('refuses credentials for another account than the recorded one', async () => {
    const err = await awsPreflight(config(), clients(), { configFile: 'lookout.yaml', knownInstance: true, recordedAccountId: '999999999999' }).catch(
      (e) => e,
    );
    expect(err.message).toMatch(/lives in account 999999999999.*credentials are for account 111122223333/);
  });

  it('checks a given parent zone exists and is a parent of the domain', async () => {
    route53.on(GetHostedZoneCommand, { Id: 'ZPARENT' }).resolves({ HostedZone: { Id: '/hostedzone/ZPARENT', Name: 'example.com.', CallerReference: 'x' } });
    route53.on(GetHostedZoneCommand, { Id: 'ZOTHER' }).resolves({ HostedZone: { Id: '/hostedzone/ZOTHER', Name: 'example.org.', CallerReference: 'x' } });
    const right = await awsPreflight(config({ dns: { parentZone: 'ZPARENT' } }), clients(), fresh);
    expect(right.parentZoneId).toBe('ZPARENT');
    const wrong = await awsPreflight(config({ dns: { parentZone: 'ZOTHER' } }), clients(), fresh).catch((e) => e);
    expect(wrong.issues[0]).toMatchObject({ path: 'dns.parentZone' });
    expect(wrong.issues[0].message).toMatch(/example.org, which is not a parent of obs.example.com/);
    route53.on(GetHostedZoneCommand, { Id: 'ZGONE' }).rejects(notFound('NoSuchHostedZone'));
    const missing = await awsPreflight(config({ dns: { parentZone: 'ZGONE' } }), clients(), fresh).catch((e) => e);
    expect(missing.issues[0].message).toMatch(/does not exist/);
  });

  it('warns when no parent zone is in the account, and when the domain already has a zone', async () => {
    route53.reset();
    route53.on(ListHostedZonesByNameCommand).resolves({ HostedZones: [] });
    route53
      .on(ListHostedZonesByNameCommand, { DNSName: 'obs.example.com' })
      .resolves({ HostedZones: [{ Id: '/hostedzone/ZOLD', Name: 'obs.example.com.', CallerReference: 'x' }] });
    const result = await awsPreflight(config(), clients(), fresh);
    expect(result.parentZoneId).toBeUndefined();
    expect(result.warnings.join('\n')).toMatch(/already exists \(ZOLD\)/);
    expect(result.warnings.join('\n')).toMatch(/NS records to add/);
  });
});

describe('AWS preflight after a destroy that kept the data', () => {
  it('says the kept buckets block the name, and how to go on', async () => {
    s3.on(HeadBucketCommand).resolves({});
    const err = await awsPreflight(config(), clients(), { ...fresh, destroyedBefore: true }).catch((e) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toMatch(/was destroyed with its data kept, in lookout-demo-metrics-/);
    expect(err.hint).toMatch(/lookout destroy demo --delete-data/);
  });
});
