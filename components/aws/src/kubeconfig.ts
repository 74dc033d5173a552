/**
 * A kubeconfig for an EKS cluster that authenticates through the AWS CLI, so it holds no
 * token: each kubectl call asks `aws eks get-token` for a short-lived one.
 */

export interface KubeconfigParams {
  clusterName: string;
  /** API server URL, `https://…eks.amazonaws.com`. */
  endpoint: string;
  /** Base64 PEM of the cluster CA, as EKS returns it. */
  certificateAuthorityData: string;
  region: string;
  /** AWS CLI profile to get tokens with; the default credential chain when omitted. */
  profile?: string;
}

/**
 * Renders the kubeconfig as JSON. JSON is a subset of YAML, and kubectl and every client
 * library read it as a kubeconfig, so no YAML emitter is needed here.
 */
export function renderKubeconfig(params: KubeconfigParams): string {
  const { clusterName, endpoint, certificateAuthorityData, region, profile } = params;
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server: endpoint, 'certificate-authority-data': certificateAuthorityData } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    'current-context': clusterName,
    preferences: {},
    users: [
      {
        name: clusterName,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'aws',
            args: ['eks', 'get-token', '--cluster-name', clusterName, '--region', region, '--output', 'json'],
            ...(profile ? { env: [{ name: 'AWS_PROFILE', value: profile }] } : {}),
            interactiveMode: 'Never',
            provideClusterInfo: false,
          },
        },
      },
    ],
  };
  return `${JSON.stringify(kubeconfig, null, 2)}\n`;
}
