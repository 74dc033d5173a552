/**
 * What destroying a GCP instance takes besides the shared steps, as far as it is built: the
 * credentials must reach the instance's project, whether the cluster is already gone, the data
 * buckets, and the platform resources that point at the load balancer. The load-balancer wait
 * and the infra and data steps (teardown-scan.ts has their GCP calls) are not wired yet.
 */
import type { Step } from '../../engine/index.js';
import { FailureError, UsageError } from '../../errors.js';
import { BUCKET_PURPOSES } from '../../naming.js';
import type { InstanceRecord } from '../../state/instance-record.js';
import type { InstanceContext } from '../../steps/context.js';
import type { Teardown } from '../types.js';
import { gcpNames, instanceBucketNames } from './naming.js';
import { explainGoogleError, statusOf, type GoogleHttp } from './preflight.js';
import { gcpConfigOf, gcpLocation } from './settings.js';

async function defaultHttp(): Promise<GoogleHttp> {
  return (await import('./infra-steps.js')).googleHttp();
}

/** The instance's bucket names, derived as the infra stack derives them (the project is the record's account). */
export function gcpDataBuckets(record: Pick<InstanceRecord, 'name' | 'accountId' | 'region'>): string[] {
  const names = instanceBucketNames(record.name, record.accountId, record.region);
  return BUCKET_PURPOSES.map((p) => names[p]);
}

/** True when the instance's GKE cluster no longer exists (an earlier destroy got that far). */
export async function gcpClusterGone(c: Pick<InstanceContext, 'name' | 'config'>, signal: AbortSignal, http: () => Promise<GoogleHttp> = defaultHttp): Promise<boolean> {
  const gcp = gcpConfigOf(c.config);
  const url = `https://container.googleapis.com/v1/projects/${gcp.project}/locations/${gcpLocation(gcp)}/clusters/${gcpNames(c.name).clusterName}`;
  try {
    await (await http()).request({ url, method: 'GET', signal });
    return false;
  } catch (err) {
    if (statusOf(err) === 404) return true;
    throw explainGoogleError(err, 'the GKE cluster lookup', signal);
  }
}

/** First: the credentials work and reach the instance's project. */
export function gcpCredentialsStep(record: InstanceRecord, http: () => Promise<GoogleHttp> = defaultHttp): Step<{ project: string }> {
  return {
    name: 'credentials',
    title: 'Check credentials',
    alwaysRun: true,
    async run(ctx) {
      const project = record.accountId;
      try {
        await (await http()).request({ url: `https://cloudresourcemanager.googleapis.com/v3/projects/${project}`, method: 'GET', signal: ctx.signal });
      } catch (err) {
        if (statusOf(err) === 403 || statusOf(err) === 404) {
          throw new FailureError(`instance "${record.name}" lives in project ${project}, which these credentials cannot see`, {
            hint: 'Use credentials that can manage the instance’s project (`gcloud auth application-default login`).',
          });
        }
        throw explainGoogleError(err, 'the project lookup', ctx.signal);
      }
      return { project };
    },
  };
}

function notBuilt(): never {
  throw new UsageError('`destroy` is not supported yet for GCP instances: GCP support comes in a later release');
}

export const gcpTeardown: Teardown = {
  before: (record) => [gcpCredentialsStep(record)],
  afterGateway: () => notBuilt(),
  after: () => notBuilt(),
  clusterGone: (c, signal) => gcpClusterGone(c, signal),
  dataBuckets: gcpDataBuckets,
  ownsDataBuckets: true,
  // The A record that sends the tenant hosts to the load balancer goes with it.
  loadBalancerDependents: ['gcp:dns/recordSet:RecordSet'],
};
