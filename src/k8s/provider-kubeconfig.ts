/**
 * The kubeconfig Lookout's own Kubernetes stacks use. It authenticates through
 * `lookout kube-token`, so no AWS CLI is needed, and it carries no token: each API call gets
 * a fresh, short-lived one.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ClusterAccess {
  clusterName: string;
  endpoint: string;
  /** Base64 PEM of the cluster CA, as EKS returns it. */
  certificateAuthorityData: string;
  region: string;
}

/** The `lookout` launcher of this installation, from the build (dist/src/k8s) or the sources (src/k8s). */
export function lookoutBinary(): string {
  const candidates = [new URL('../../../bin/lookout', import.meta.url), new URL('../../bin/lookout', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

export function providerKubeconfig(cluster: ClusterAccess, exec: { command: string; args: string[] } = defaultExec(cluster)): string {
  const name = cluster.clusterName;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: cluster.endpoint, 'certificate-authority-data': cluster.certificateAuthorityData } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    users: [
      {
        name,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: exec.command,
            args: exec.args,
            interactiveMode: 'Never',
          },
        },
      },
    ],
  });
}

/** `lookout` from PATH: the state is shared, so no machine's own paths go into it (see exec-shim.ts). */
function defaultExec(cluster: ClusterAccess): { command: string; args: string[] } {
  return { command: 'lookout', args: ['kube-token', '--cluster', cluster.clusterName, '--region', cluster.region] };
}
