/**
 * `plan --render DIR`: what the stack programs would apply, as files a person can review,
 * diff between bundles, or keep in Git (what `helm template` gives Helm users):
 *
 *   <stack>/manifests/<namespace or _cluster>/<Type>-<name>.yaml   one Kubernetes object each
 *   <stack>/files/<namespace>/<ConfigMap>/<key>                    each file a ConfigMap holds
 *                                                                  (Cortex, Loki, nginx, Alloy,
 *                                                                  Grafana provisioning, …)
 *   <stack>/cloud-resources.yaml                                   the cloud resources, inputs
 *
 * Everything the program marked secret, and every value of a Secret, is redacted. The output
 * is a pure function of the plan, so the same config gives the same bytes on every run.
 */
import YAML from 'yaml';
import { REDACTED_SECRET, type MockedResource } from './mock-runtime.js';
import type { PlannedStackRun } from './plan.js';

export interface RenderedFile {
  /** Relative, `/`-separated. */
  path: string;
  content: string;
}

const SECRET_TYPES = new Set(['kubernetes:core/v1:Secret', 'kubernetes:core/v1:SecretPatch']);
const CONFIG_MAP_TYPES = new Set(['kubernetes:core/v1:ConfigMap', 'kubernetes:core/v1:ConfigMapPatch']);

function isKubernetesObject(r: MockedResource): boolean {
  return r.custom && r.type.startsWith('kubernetes:') && !r.type.startsWith('kubernetes:helm');
}

/** `kubernetes:apps/v1:Deployment` → `apps/v1`, `Deployment`; the core group is plain `v1`. */
function apiVersionAndKind(type: string): { apiVersion: string; kind: string } {
  const [, module = '', kind = ''] = type.split(':');
  const [group = '', version = ''] = module.split('/');
  const patchless = kind.endsWith('Patch') ? kind.slice(0, -'Patch'.length) : kind;
  return { apiVersion: group === 'core' ? version : `${group}/${version}`, kind: patchless };
}

/** A path segment that is safe on every file system, whatever a name holds. */
function segment(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9._-]/g, '_');
  return safe === '' || safe === '.' || safe === '..' ? '_' : safe;
}

function redactedData(values: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!values || typeof values !== 'object') return undefined;
  return Object.fromEntries(Object.keys(values).map((k) => [k, REDACTED_SECRET]));
}

/** The manifest of one object: its inputs with apiVersion and kind first, secrets redacted. */
function manifestOf(r: MockedResource): Record<string, unknown> {
  const { apiVersion, kind } = apiVersionAndKind(r.type);
  const { apiVersion: _a, kind: _k, metadata, ...rest } = r.redactedInputs;
  const manifest: Record<string, unknown> = { apiVersion, kind, ...(metadata ? { metadata } : {}), ...rest };
  if (SECRET_TYPES.has(r.type)) {
    // Every value of a Secret, whether the program marked it secret or not.
    for (const field of ['data', 'stringData', 'binaryData']) {
      if (field in r.inputs) manifest[field] = redactedData(r.inputs[field]);
    }
  }
  return manifest;
}

function yaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

function renderStack(run: PlannedStackRun): RenderedFile[] {
  const files: RenderedFile[] = [];
  const cloud: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];
  for (const r of run.resources) {
    if (!r.custom || r.type.startsWith('pulumi:providers:')) continue;
    if (!isKubernetesObject(r)) {
      cloud.push({ type: r.type, name: r.name, inputs: r.redactedInputs });
      continue;
    }
    const metadata = (r.inputs.metadata ?? {}) as { name?: string; namespace?: string };
    const name = metadata.name ?? r.name;
    const where = metadata.namespace ?? '_cluster';
    const typeName = r.type.split(':').pop()!;
    files.push({
      path: `${segment(run.stack)}/manifests/${segment(where)}/${segment(typeName)}-${segment(name)}.yaml`,
      content: yaml(manifestOf(r)),
    });
    if (CONFIG_MAP_TYPES.has(r.type)) {
      const data = r.redactedInputs.data as Record<string, unknown> | undefined;
      for (const [key, value] of Object.entries(data && typeof data === 'object' ? data : {})) {
        files.push({
          path: `${segment(run.stack)}/files/${segment(where)}/${segment(name)}/${segment(key)}`,
          content: typeof value === 'string' ? value : yaml(value),
        });
      }
    }
  }
  if (cloud.length > 0) {
    cloud.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
    files.push({ path: `${segment(run.stack)}/cloud-resources.yaml`, content: yaml(cloud) });
  }
  return files;
}

export function renderPlanFiles(runs: readonly PlannedStackRun[]): RenderedFile[] {
  const files = runs.flatMap(renderStack);
  const seen = new Set<string>();
  for (const f of files) {
    // Two objects can only share a path if their names collide after sanitising; say so
    // rather than let one silently replace the other.
    if (seen.has(f.path)) throw new Error(`plan --render: two objects would both be written to ${f.path}`);
    seen.add(f.path);
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
