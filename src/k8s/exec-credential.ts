/** The ExecCredential a Kubernetes client expects from an exec credential plugin (`lookout kube-token`). */
export function execCredential(token: string, expiresAt: Date): string {
  return JSON.stringify({
    kind: 'ExecCredential',
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    spec: {},
    status: { expirationTimestamp: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'), token },
  });
}
