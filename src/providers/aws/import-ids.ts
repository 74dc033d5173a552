/**
 * The AWS resource types Lookout names itself, with how the AWS provider's import id follows
 * from the inputs. Each is an object AWS refuses to create twice under the same name, so a
 * create that an interrupted run left pending is imported, not created again.
 */
import type { ImportIdRules } from '../../pulumi/recovery.js';

function plain(value: unknown): string | undefined {
  // A secret input is an object envelope, never a string, so it is never used as an id.
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function pair(a: unknown, b: unknown): string | undefined {
  const x = plain(a);
  const y = plain(b);
  return x && y ? `${x}:${y}` : undefined;
}

export const AWS_IMPORT_IDS: ImportIdRules = {
  'aws:s3/bucket:Bucket': (i) => plain(i.bucket),
  'aws:s3/bucketV2:BucketV2': (i) => plain(i.bucket),
  'aws:iam/role:Role': (i) => plain(i.name),
  'aws:iam/instanceProfile:InstanceProfile': (i) => plain(i.name),
  'aws:eks/cluster:Cluster': (i) => plain(i.name),
  'aws:eks/nodeGroup:NodeGroup': (i) => pair(i.clusterName, i.nodeGroupName),
  'aws:eks/addon:Addon': (i) => pair(i.clusterName, i.addonName),
  'aws:eks/accessEntry:AccessEntry': (i) => pair(i.clusterName, i.principalArn),
  'aws:kms/alias:Alias': (i) => plain(i.name),
  'aws:cloudwatch/logGroup:LogGroup': (i) => plain(i.name),
  'aws:route53/record:Record': (i) => {
    const zone = plain(i.zoneId);
    const name = plain(i.name);
    const type = plain(i.type);
    if (!zone || !name || !type) return undefined;
    const set = plain(i.setIdentifier);
    return `${zone}_${name.replace(/\.$/, '')}_${type}${set ? `_${set}` : ''}`;
  },
};
