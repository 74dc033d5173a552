/**
 * Reading what `lookout plan … --render DIR` wrote, for the data plane: the Cortex workloads
 * (target, args, replicas) and Services from their manifests, and the config files from their
 * ConfigMaps. Nothing here changes a file; `rewrite.ts` does that.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import YAML from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the real CLI: `lookout plan <provider> <name> -c <config> --render <dir>`. */
export async function renderPlan(options: { provider: string; instance: string; configFile: string; dir: string }): Promise<void> {
  await promisify(execFile)(process.execPath, [join(root, 'bin/lookout'), 'plan', options.provider, options.instance, '-c', options.configFile, '--render', options.dir], {
    cwd: root,
  });
}

export interface CortexWorkload {
  /** `cortex-ingester`. */
  name: string;
  /** `-target`. */
  target: string;
  kind: 'Deployment' | 'StatefulSet';
  replicas: number;
  /** The container's args as rendered (with `-config.file=/etc/cortex/cortex.yaml`). */
  args: string[];
}

export interface RenderedService {
  name: string;
  namespace: string;
  /** The `app.kubernetes.io/component` it selects (absent for the gossip Service, which selects every ring member). */
  component?: string;
  ports: Array<{ port: number; targetPort: string }>;
}

export interface RenderedPlatform {
  /** `<dir>/<instance>-platform`. */
  dir: string;
  namespace: string;
  /** The version label of the Cortex objects: the bundle's image tag, e.g. `v1.19.1`. */
  cortexVersion: string;
  cortexConfig: string;
  alertmanagerFallback: string;
  runtimeConfig: string;
  nginxConfig: string;
  cortexWorkloads: CortexWorkload[];
  services: RenderedService[];
}

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: {
    replicas?: number;
    selector?: Record<string, string> & { matchLabels?: Record<string, string> };
    ports?: Array<{ port: number; targetPort?: string | number; name?: string }>;
    template?: { spec?: { containers?: Array<{ name: string; args?: string[] }> } };
  };
}

function readManifests(dir: string): Manifest[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => YAML.parse(readFileSync(join(dir, f), 'utf8')) as Manifest);
}

/** The platform stack of a render (the one directory whose name ends in `-platform`). */
export function readRenderedPlatform(renderDir: string, namespace = 'lookout'): RenderedPlatform {
  const stacks = readdirSync(renderDir).filter((d) => d.endsWith('-platform'));
  if (stacks.length !== 1) throw new Error(`${renderDir}: expected one *-platform stack, found ${stacks.join(', ') || 'none'}`);
  const dir = join(renderDir, stacks[0]!);
  const files = join(dir, 'files', namespace);
  const manifests = readManifests(join(dir, 'manifests', namespace));
  const cortex = manifests.filter((m) => m.metadata.labels?.['app.kubernetes.io/name'] === 'cortex');
  const cortexWorkloads = cortex
    .filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet')
    .map((m) => {
      const args = m.spec?.template?.spec?.containers?.[0]?.args ?? [];
      const target = args.find((a) => a.startsWith('-target='))?.slice('-target='.length);
      if (!target) throw new Error(`${m.kind} ${m.metadata.name}: no -target in its args`);
      return { name: m.metadata.name, target, kind: m.kind as CortexWorkload['kind'], replicas: m.spec?.replicas ?? 1, args };
    });
  const services = manifests
    .filter((m) => m.kind === 'Service')
    .map((m) => {
      const component = m.spec?.selector?.['app.kubernetes.io/component'];
      return {
        name: m.metadata.name,
        namespace: m.metadata.namespace ?? namespace,
        ...(component ? { component } : {}),
        ports: (m.spec?.ports ?? []).map((p) => ({ port: p.port, targetPort: String(p.targetPort ?? p.name ?? p.port) })),
      };
    });
  const read = (path: string) => readFileSync(join(files, path), 'utf8');
  return {
    dir,
    namespace,
    cortexVersion: cortex[0]?.metadata.labels?.['app.kubernetes.io/version'] ?? 'unknown',
    cortexConfig: read('cortex/cortex.yaml'),
    alertmanagerFallback: read('cortex/alertmanager-fallback.yaml'),
    runtimeConfig: read('cortex-runtime/runtime.yaml'),
    nginxConfig: read('gateway-config/nginx.conf'),
    cortexWorkloads,
    services,
  };
}
