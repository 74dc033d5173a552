/**
 * The user's kubeconfig: the cluster and identity of one context. Lookout reads it on every
 * call and never copies its credentials anywhere: the stacks' own kubeconfig names only the
 * server and its CA, and runs `lookout kube-token --provider kubernetes` for credentials,
 * which reads them from this file again (client certificates, a token, or the user's own
 * exec plugin, whose answer is passed on).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FailureError, UsageError } from '../../errors.js';

const exec = promisify(execFile);

/** The environment variable that tells `kube-token` (run by the Kubernetes provider) which kubeconfig to read. */
export const KUBECONFIG_ENV = 'LOOKOUT_KUBECONFIG';

interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: Array<{ name: string; value: string }>;
}

interface UserEntry {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  exec?: ExecConfig;
  username?: string;
  'auth-provider'?: unknown;
}

interface ClusterEntry {
  server: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}

interface KubeconfigFile {
  clusters?: Array<{ name: string; cluster: ClusterEntry }>;
  users?: Array<{ name: string; user: UserEntry }>;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
}

/** The cluster of a context, as Lookout's stacks reach it. */
export interface ClusterEndpoint {
  server: string;
  /** Base64 PEM of the CA that signs the API server's certificate; absent when the system's CAs do. */
  certificateAuthorityData?: string;
  tlsServerName?: string;
}

/** What a client presents to the API server: a client certificate, a bearer token, or both. */
export interface ClientCredentials {
  clientCertificateData?: string;
  clientKeyData?: string;
  token?: string;
  /** When the credentials expire (RFC 3339), as an exec plugin said. */
  expirationTimestamp?: string;
}

export interface KubeContext {
  path: string;
  context: string;
  cluster: ClusterEndpoint;
  user: UserEntry;
  /** The directory relative file names in the kubeconfig are resolved against. */
  base: string;
}

/** `~/x` and relative paths, as a shell and kubectl would resolve them. */
export function expandPath(path: string, cwd = process.cwd()): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(cwd, path);
}

function problem(path: string, message: string, hint?: string): FailureError {
  return new FailureError(`the kubeconfig ${path}: ${message}`, { hint: hint ?? 'Check kubernetes.kubeconfig and kubernetes.context in the config (`kubectl config get-contexts`).' });
}

async function readEntry(base: string, file: string | undefined, data: string | undefined): Promise<Buffer | undefined> {
  if (data) return Buffer.from(data, 'base64');
  if (file) return readFile(isAbsolute(file) ? file : join(base, file));
  return undefined;
}

/** Reads one context of a kubeconfig file. */
export async function readKubeContext(path: string, context: string): Promise<KubeContext> {
  const file = expandPath(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`kubernetes.kubeconfig: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'Give the path of the kubeconfig that reaches your cluster.',
    });
  }
  const YAML = await import('yaml');
  let parsed: KubeconfigFile;
  try {
    parsed = (YAML.parse(text) ?? {}) as KubeconfigFile;
  } catch {
    throw problem(file, 'is not valid YAML');
  }
  const ctx = parsed.contexts?.find((c) => c.name === context)?.context;
  if (!ctx) {
    const known = (parsed.contexts ?? []).map((c) => c.name);
    throw new UsageError(`kubernetes.context: the kubeconfig ${file} has no context "${context}"${known.length ? ` (it has: ${known.join(', ')})` : ''}`);
  }
  const cluster = parsed.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = parsed.users?.find((u) => u.name === ctx.user)?.user;
  if (!cluster?.server) throw problem(file, `context "${context}" names cluster "${ctx.cluster}", which has no server`);
  if (!user) throw problem(file, `context "${context}" names user "${ctx.user}", which is not in the file`);
  if (cluster['insecure-skip-tls-verify']) {
    throw problem(file, `cluster "${ctx.cluster}" skips TLS verification`, 'Give the cluster’s CA (certificate-authority-data) instead: Lookout sends credentials to it.');
  }
  if (cluster['proxy-url']) throw problem(file, `cluster "${ctx.cluster}" uses a proxy-url, which Lookout does not support`);
  const base = dirname(file);
  const ca = await readEntry(base, cluster['certificate-authority'], cluster['certificate-authority-data']).catch((err: Error) => {
    throw problem(file, `cannot read the certificate authority of cluster "${ctx.cluster}": ${err.message}`);
  });
  return {
    path: file,
    context,
    base,
    user,
    cluster: {
      server: cluster.server.replace(/\/+$/, ''),
      ...(ca ? { certificateAuthorityData: ca.toString('base64') } : {}),
      ...(cluster['tls-server-name'] ? { tlsServerName: cluster['tls-server-name'] } : {}),
    },
  };
}

/** The context's credentials, right now: from the file, or from the user's own exec plugin. */
export async function contextCredentials(ctx: KubeContext): Promise<ClientCredentials> {
  const u = ctx.user;
  if (u.username !== undefined || u['auth-provider'] !== undefined) {
    throw problem(ctx.path, `the user of context "${ctx.context}" uses ${u.username !== undefined ? 'basic authentication' : 'an auth-provider'}, which Lookout does not support`, 'Use client certificates, a token or an exec plugin.');
  }
  if (u.exec) return execPluginCredentials(ctx, u.exec);
  const creds: ClientCredentials = {};
  const cert = await readEntry(ctx.base, u['client-certificate'], u['client-certificate-data']);
  const key = await readEntry(ctx.base, u['client-key'], u['client-key-data']);
  if (cert && key) Object.assign(creds, { clientCertificateData: cert.toString('utf8'), clientKeyData: key.toString('utf8') });
  const token = u.token ?? (u.tokenFile ? (await readFile(isAbsolute(u.tokenFile) ? u.tokenFile : join(ctx.base, u.tokenFile), 'utf8')).trim() : undefined);
  if (token) creds.token = token;
  if (!creds.token && !creds.clientCertificateData) throw problem(ctx.path, `the user of context "${ctx.context}" has no credentials`);
  return creds;
}

async function execPluginCredentials(ctx: KubeContext, plugin: ExecConfig): Promise<ClientCredentials> {
  const apiVersion = plugin.apiVersion ?? 'client.authentication.k8s.io/v1beta1';
  const env = {
    ...process.env,
    ...Object.fromEntries((plugin.env ?? []).map((e) => [e.name, e.value])),
    KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } }),
  };
  // A relative command with a slash is relative to the kubeconfig, as client-go resolves it.
  const command = plugin.command.includes('/') && !isAbsolute(plugin.command) ? join(ctx.base, plugin.command) : plugin.command;
  let stdout: string;
  try {
    ({ stdout } = await exec(command, plugin.args ?? [], { env, timeout: 60_000, maxBuffer: 1024 * 1024 }));
  } catch (err) {
    throw problem(ctx.path, `the exec plugin of context "${ctx.context}" (${plugin.command}) failed: ${(err as Error).message.split('\n')[0]}`, 'Run it yourself (or `kubectl get ns`) to see why.');
  }
  let status: ClientCredentials | undefined;
  try {
    status = (JSON.parse(stdout) as { status?: ClientCredentials }).status;
  } catch {
    status = undefined;
  }
  if (!status || (!status.token && !status.clientCertificateData)) {
    throw problem(ctx.path, `the exec plugin of context "${ctx.context}" (${plugin.command}) printed no credentials`);
  }
  return status;
}

/** The ExecCredential `kube-token` prints for the Kubernetes provider. */
export function execCredentialFor(creds: ClientCredentials): string {
  const status: Record<string, string> = {};
  if (creds.token) status.token = creds.token;
  if (creds.clientCertificateData && creds.clientKeyData) {
    status.clientCertificateData = creds.clientCertificateData;
    status.clientKeyData = creds.clientKeyData;
  }
  if (creds.expirationTimestamp) status.expirationTimestamp = creds.expirationTimestamp;
  return JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status });
}
