/**
 * Checks that `create` can succeed before anything is created: working credentials, an
 * enabled region with enough AZs, names that are free (or already ours), enough Elastic IPs
 * for the NAT gateways, and where the NS delegation will go.
 */
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import {
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeRegionsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { GetServiceQuotaCommand, type ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { GetHostedZoneCommand, ListHostedZonesByNameCommand, type Route53Client } from '@aws-sdk/client-route-53';
import type { ResolvedConfig } from '../../config/load.js';
import { ConfigError, FailureError } from '../../errors.js';
import { BUCKET_PURPOSES } from '../../naming.js';
import { accountRegionSuffix, awsNames } from './naming.js';
import { explainAwsError, explainAwsErrorWithProfile, httpStatusOf, isAwsErrorNamed } from './errors.js';

export interface AwsPreflightClients {
  sts: STSClient;
  ec2: EC2Client;
  quotas: ServiceQuotasClient;
  s3: S3Client;
  eks: EKSClient;
  route53: Route53Client;
}

export interface AwsPreflightResult {
  accountId: string;
  callerArn: string;
  region: string;
  availabilityZones: string[];
  /** Parent hosted zone to add the NS delegation to, when one was given or found. */
  parentZoneId?: string;
  elasticIps: { quota: number; inUse: number; needed: number };
  /** True when the instance's cluster or buckets already exist in this account. */
  existing: boolean;
  warnings: string[];
}

export interface AwsPreflightOptions {
  signal?: AbortSignal;
  /** The config file, named in errors about values that are wrong for this account. */
  configFile: string;
  /** True when this machine's state already knows the instance (a resumed or repeated create). */
  knownInstance: boolean;
  /** This machine destroyed an instance of this name before (its data buckets were kept). */
  destroyedBefore?: boolean;
  /** The account recorded for the instance, when known. */
  recordedAccountId?: string;
}

/** The Elastic IP quota of EC2-VPC, the one NAT gateways consume. */
export const EIP_QUOTA_CODE = 'L-0263D0A3';
const DEFAULT_EIP_QUOTA = 5;

async function call<T>(api: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw await explainAwsErrorWithProfile(err, api, signal);
  }
}

/** A config value that is well-formed but wrong for this account, found only by asking AWS. */
class ConfigProblem extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function configProblem(path: string, message: string): ConfigProblem {
  return new ConfigProblem(path, message);
}

async function checkRegion(c: AwsPreflightClients, region: string, want: number, signal?: AbortSignal): Promise<string[]> {
  const regions = await call('ec2:DescribeRegions', signal, () => c.ec2.send(new DescribeRegionsCommand({}), { abortSignal: signal }));
  const enabled = (regions.Regions ?? []).map((r) => r.RegionName!).filter(Boolean);
  if (!enabled.includes(region)) {
    throw configProblem('aws.region', `"${region}" is not a region enabled for this account (enabled: ${enabled.sort().join(', ')})`);
  }
  const zones = await call('ec2:DescribeAvailabilityZones', signal, () =>
    c.ec2.send(
      new DescribeAvailabilityZonesCommand({
        Filters: [
          { Name: 'zone-type', Values: ['availability-zone'] },
          { Name: 'state', Values: ['available'] },
        ],
      }),
      { abortSignal: signal },
    ),
  );
  const names = (zones.AvailabilityZones ?? []).map((z) => z.ZoneName!).filter(Boolean).sort();
  if (names.length < want) {
    throw configProblem('aws.availabilityZones', `${region} has ${names.length} available zones, ${want} were asked for`);
  }
  return names.slice(0, want);
}

async function checkElasticIps(c: AwsPreflightClients, needed: number, warnings: string[], signal?: AbortSignal) {
  let quota = DEFAULT_EIP_QUOTA;
  try {
    const q = await c.quotas.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: EIP_QUOTA_CODE }), { abortSignal: signal });
    quota = q.Quota?.Value ?? DEFAULT_EIP_QUOTA;
  } catch (err) {
    if (signal?.aborted) throw explainAwsError(err, 'servicequotas:GetServiceQuota', signal);
    // Service Quotas may be denied to a narrowly scoped user; the EC2 default still protects.
    warnings.push(`could not read the Elastic IP quota (${(err as Error).name}); assuming the default of ${DEFAULT_EIP_QUOTA}`);
  }
  const addresses = await call('ec2:DescribeAddresses', signal, () =>
    c.ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'domain', Values: ['vpc'] }] }), { abortSignal: signal }),
  );
  const inUse = addresses.Addresses?.length ?? 0;
  return { quota, inUse, needed };
}

/** Returns true when the bucket exists and is ours; throws when someone else owns the name. */
async function bucketIsOurs(c: AwsPreflightClients, bucket: string, accountId: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await c.s3.send(new HeadBucketCommand({ Bucket: bucket, ExpectedBucketOwner: accountId }), { abortSignal: signal });
    return true;
  } catch (err) {
    const status = httpStatusOf(err);
    if (status === 404 || isAwsErrorNamed(err, 'NotFound', 'NoSuchBucket')) return false;
    if (signal?.aborted) throw explainAwsError(err, 's3:HeadBucket', signal);
    if (status === 403 || status === 301) {
      throw new FailureError(`the bucket name ${bucket} is already taken by another account or region`, {
        hint: 'Choose another instance name.',
        cause: err,
      });
    }
    throw explainAwsError(err, 's3:HeadBucket', signal);
  }
}

async function clusterExists(c: AwsPreflightClients, name: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await c.eks.send(new DescribeClusterCommand({ name }), { abortSignal: signal });
    return true;
  } catch (err) {
    if (isAwsErrorNamed(err, 'ResourceNotFoundException')) return false;
    throw explainAwsError(err, 'eks:DescribeCluster', signal);
  }
}

function parentDomains(domain: string): string[] {
  const labels = domain.split('.');
  // Stop before the top-level domain: nobody can host `com.`.
  return labels.slice(1, -1).map((_, i) => labels.slice(i + 1).join('.'));
}

function zoneId(id: string): string {
  return id.replace(/^\/hostedzone\//, '');
}

async function resolveParentZone(
  c: AwsPreflightClients,
  domain: string,
  given: string | undefined,
  warnings: string[],
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (given) {
    let zone;
    try {
      zone = await c.route53.send(new GetHostedZoneCommand({ Id: given }), { abortSignal: signal });
    } catch (err) {
      if (isAwsErrorNamed(err, 'NoSuchHostedZone', 'InvalidInput')) {
        throw configProblem('dns.parentZone', `hosted zone ${given} does not exist in this account`);
      }
      throw explainAwsError(err, 'route53:GetHostedZone', signal);
    }
    const name = (zone.HostedZone?.Name ?? '').replace(/\.$/, '');
    if (!parentDomains(domain).includes(name)) {
      throw configProblem('dns.parentZone', `hosted zone ${given} is for ${name}, which is not a parent of ${domain}`);
    }
    return zoneId(given);
  }
  for (const candidate of [domain, ...parentDomains(domain)]) {
    const found = await call('route53:ListHostedZonesByName', signal, () =>
      c.route53.send(new ListHostedZonesByNameCommand({ DNSName: candidate, MaxItems: 10 }), { abortSignal: signal }),
    );
    const publicZones = (found.HostedZones ?? []).filter((z) => z.Name === `${candidate}.` && !z.Config?.PrivateZone);
    if (candidate === domain) {
      if (publicZones.length > 0) {
        warnings.push(
          `a hosted zone for ${domain} already exists (${publicZones.map((z) => zoneId(z.Id!)).join(', ')}); ` +
            'Lookout creates and delegates to its own zone, so records in the existing one will stop being served',
        );
      }
      continue;
    }
    if (publicZones.length === 1) return zoneId(publicZones[0]!.Id!);
    if (publicZones.length > 1) {
      warnings.push(`several hosted zones exist for ${candidate}; set dns.parentZone to choose where the delegation goes`);
      return undefined;
    }
  }
  return undefined;
}

export async function awsPreflight(
  config: ResolvedConfig,
  clients: AwsPreflightClients,
  options: AwsPreflightOptions,
): Promise<AwsPreflightResult> {
  try {
    return await preflight(config, clients, options);
  } catch (err) {
    if (err instanceof ConfigProblem) throw new ConfigError(options.configFile, [{ path: err.path, message: err.message }]);
    throw err;
  }
}

async function preflight(
  config: ResolvedConfig,
  clients: AwsPreflightClients,
  options: AwsPreflightOptions,
): Promise<AwsPreflightResult> {
  const aws = config.aws;
  if (!aws) throw configProblem('aws', 'required field is missing');
  const { signal } = options;
  const warnings: string[] = [];

  const identity = await call('sts:GetCallerIdentity', signal, () =>
    clients.sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal }),
  );
  const accountId = identity.Account!;
  if (options.recordedAccountId && options.recordedAccountId !== accountId) {
    throw new FailureError(
      `instance "${config.name}" lives in account ${options.recordedAccountId}, but the credentials are for account ${accountId}`,
      { hint: 'Use credentials for the instance’s account (for example another AWS_PROFILE).' },
    );
  }

  const availabilityZones = await checkRegion(clients, aws.region, aws.availabilityZones, signal);

  const names = awsNames(config.name);
  const suffix = accountRegionSuffix(accountId, aws.region);
  const existingCluster = await clusterExists(clients, names.clusterName, signal);
  const existingBuckets: string[] = [];
  for (const purpose of BUCKET_PURPOSES) {
    const bucket = names.bucketName(purpose, suffix);
    if (await bucketIsOurs(clients, bucket, accountId, signal)) existingBuckets.push(bucket);
  }
  const existing = existingCluster || existingBuckets.length > 0;
  if (existingBuckets.length > 0 && !existingCluster && !options.knownInstance && options.destroyedBefore) {
    throw new FailureError(
      `instance "${config.name}" was destroyed with its data kept, in ${existingBuckets.join(', ')}; a new instance of the same name would need those bucket names`,
      {
        hint:
          `Delete the old data first (\`lookout destroy ${config.name} --delete-data\`), or create the new instance under another name. ` +
          'Adopting kept buckets into a new instance is not supported yet.',
      },
    );
  }
  if (existing && !options.knownInstance) {
    const what = [existingCluster ? `EKS cluster ${names.clusterName}` : '', ...existingBuckets].filter(Boolean).join(', ');
    throw new FailureError(
      `an instance named "${config.name}" already exists in account ${accountId} (${aws.region}), but this machine has no state for it (found: ${what})`,
      {
        hint:
          'If it is your team’s, run with the team’s state (`--state s3://…`) or from the machine that created it; ' +
          'otherwise choose another instance name.',
      },
    );
  }

  const needed = aws.natGateways === 'single' ? 1 : aws.availabilityZones;
  const elasticIps = await checkElasticIps(clients, existing ? 0 : needed, warnings, signal);
  if (elasticIps.inUse + elasticIps.needed > elasticIps.quota) {
    throw new FailureError(
      `not enough Elastic IPs in ${aws.region}: the NAT gateways need ${needed}, ${elasticIps.inUse} of ${elasticIps.quota} are in use`,
      {
        hint:
          `Release unused Elastic IPs, request a higher quota (Service Quotas, code ${EIP_QUOTA_CODE}), ` +
          'or set aws.natGateways: single.',
      },
    );
  }

  const parentZoneId = await resolveParentZone(clients, config.dns.domain, config.dns.parentZone, warnings, signal);
  if (!parentZoneId) {
    warnings.push(`no parent zone of ${config.dns.domain} in this account: you will be shown the NS records to add at your DNS provider`);
  }

  return {
    accountId,
    callerArn: identity.Arn!,
    region: aws.region,
    availabilityZones,
    ...(parentZoneId ? { parentZoneId } : {}),
    elasticIps,
    existing,
    warnings,
  };
}
