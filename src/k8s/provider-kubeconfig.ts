/**
 * The kubeconfig Lookout's own Kubernetes stacks use for a cluster they reach through an exec
 * credential plugin (`lookout kube-token …`, whose arguments the provider chooses). It carries
 * no token: each API call gets a fresh, short-lived one, so no cloud CLI is needed.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ExecKubeconfigArgs {
  /** The name of the cluster, context and user entries. */
  name: string;
  /** The API server's URL. */
  server: string;
  /** Base64 PEM of the cluster CA; absent when the system's CAs sign the server's certificate. */
  certificateAuthorityData?: string;
  /** The name to check the server's certificate against, when it is not the server URL's host. */
  tlsServerName?: string;
  /** The credential plugin: `lookout` from PATH (see exec-shim.ts) and its arguments. */
  exec: { command: string; args: string[] };
}

/** The `lookout` launcher of this installation, from the build (dist/src/k8s) or the sources (src/k8s). */
export function lookoutBinary(): string {
  const candidates = [new URL('../../../bin/lookout', import.meta.url), new URL('../../bin/lookout', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

export function execKubeconfig(o: ExecKubeconfigArgs): string {
  const name = o.name;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: o.server,
          ...(o.certificateAuthorityData !== undefined ? { 'certificate-authority-data': o.certificateAuthorityData } : {}),
          ...(o.tlsServerName ? { 'tls-server-name': o.tlsServerName } : {}),
        },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    users: [
      {
        name,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: o.exec.command,
            args: o.exec.args,
            interactiveMode: 'Never',
          },
        },
      },
    ],
  });
}
