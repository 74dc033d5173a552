/**
 * `lookout plan … --render DIR`, through the real CLI: every Kubernetes object one manifest,
 * every ConfigMap file as a file, secrets redacted, the same bytes on every run, and a
 * directory that is never clobbered unless an earlier render wrote it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REDACTED_SECRET } from '../../src/plan/mock-runtime.js';
import { RENDER_MARKER } from '../../src/plan/write-render.js';
import { PROVIDER_IDS } from '../../src/providers/registry.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'lookout-render-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

async function lookout(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [`${root}bin/lookout`, ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const examples = readdirSync(`${root}examples`)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => {
    const parsed = YAML.parse(readFileSync(`${root}examples/${f}`, 'utf8')) as { provider?: string; name?: string };
    return { file: `examples/${f}`, provider: parsed.provider ?? 'aws', name: parsed.name ?? 'demo' };
  })
  .filter((e) => (PROVIDER_IDS as readonly string[]).includes(e.provider));

describe('lookout plan --render', () => {
  it.each(examples)('renders $file the same way every time, with every Secret value redacted', async ({ file, provider, name }) => {
    const [a, b] = [join(tmp, `${provider}-a`), join(tmp, `${provider}-b`)];
    const first = await lookout('plan', provider, name, '-c', file, '--render', a);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Rendered \d+ Kubernetes manifests and \d+ config files into/);
    expect((await lookout('plan', provider, name, '-c', file, '--render', b)).code).toBe(0);
    const files = filesUnder(a);
    expect(filesUnder(b)).toEqual(files);
    for (const f of files) expect(readFileSync(join(b, f), 'utf8'), f).toBe(readFileSync(join(a, f), 'utf8'));

    const manifests = files.filter((f) => f.includes('/manifests/'));
    expect(manifests.length).toBeGreaterThan(50);
    for (const f of manifests) {
      const object = YAML.parse(readFileSync(join(a, f), 'utf8')) as { apiVersion: string; kind: string; metadata: { name: string }; data?: Record<string, string> };
      expect(object.apiVersion, f).toMatch(/^([a-z0-9.]+\/)?v\d/);
      expect(f.endsWith(`-${object.metadata.name}.yaml`), f).toBe(true);
      if (object.kind === 'Secret') for (const v of Object.values(object.data ?? {})) expect(v, f).toBe(REDACTED_SECRET);
    }
    // Nothing secret the plan holds (placeholder keys, tokens, passwords) leaks into any file.
    const everything = files.map((f) => readFileSync(join(a, f), 'utf8')).join('\n');
    expect(everything).not.toContain('plan: key generated during create');
    expect(everything).not.toContain('PLANNED');
  });

  it('writes each file a ConfigMap holds next to its manifest: the stores’, the gateway’s and the collector’s configs', async () => {
    const dir = join(tmp, 'files');
    expect((await lookout('plan', 'aws', 'prod', '-c', 'examples/aws.yaml', '--render', dir)).code).toBe(0);
    const files = filesUnder(dir).filter((f) => f.includes('/files/'));
    // The collector runs in the namespace for what reads the host.
    for (const wanted of ['lookout/cortex/cortex.yaml', 'lookout/cortex-runtime/runtime.yaml', 'lookout/loki-config/config.yaml', 'lookout/loki-runtime/runtime-config.yaml', 'lookout/gateway-config/nginx.conf', 'lookout-node/alloy/config.alloy']) {
      expect(files.some((f) => f.endsWith(`/${wanted}`)), wanted).toBe(true);
    }
    const cortexFile = files.find((f) => f.endsWith('/lookout/cortex/cortex.yaml'))!;
    const cortex = YAML.parse(readFileSync(join(dir, cortexFile), 'utf8')) as { auth_enabled: boolean };
    expect(cortex.auth_enabled).toBe(true);
    // The file is exactly the ConfigMap's key.
    const manifest = YAML.parse(readFileSync(join(dir, cortexFile.replace('/files/lookout/cortex/cortex.yaml', '/manifests/lookout/ConfigMap-cortex.yaml')), 'utf8'));
    expect(manifest.data['cortex.yaml']).toBe(readFileSync(join(dir, cortexFile), 'utf8'));
  });

  it('replaces what an earlier render wrote, so objects that left the plan leave the directory, and keeps other files', async () => {
    const dir = join(tmp, 'rerender');
    const config = join(tmp, 'two-tenants.yaml');
    const text = readFileSync(`${root}examples/aws-small.yaml`, 'utf8');
    writeFileSync(config, text);
    expect((await lookout('plan', 'aws', 'demo', '-c', config, '--render', dir)).code).toBe(0);
    const tenantDirs = () => readdirSync(dir).filter((d) => d.startsWith('demo-tenant-'));
    const before = tenantDirs();
    expect(before.length).toBeGreaterThan(1);
    writeFileSync(join(dir, 'NOTES.md'), 'mine');
    // Drop every user tenant: only the system tenant's stack is left.
    const parsed = YAML.parse(text) as { tenants?: unknown[] };
    writeFileSync(config, YAML.stringify({ ...parsed, tenants: [] }));
    expect((await lookout('plan', 'aws', 'demo', '-c', config, '--render', dir)).code).toBe(0);
    expect(tenantDirs()).toEqual(['demo-tenant-system']);
    expect(readFileSync(join(dir, 'NOTES.md'), 'utf8')).toBe('mine');
  });

  it('refuses a directory it did not write, and a marker that points outside its directory deletes nothing', async () => {
    const dir = join(tmp, 'someone-elses');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep.txt'), 'x');
    const refused = await lookout('plan', 'aws', 'prod', '-c', 'examples/aws.yaml', '--render', dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--render .*not empty/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('x');

    const victim = join(tmp, 'victim.txt');
    writeFileSync(victim, 'do not delete');
    const hostile = join(tmp, 'hostile');
    mkdirSync(hostile);
    writeFileSync(join(hostile, RENDER_MARKER), JSON.stringify({ files: ['../victim.txt', '/etc/hostname'] }));
    expect((await lookout('plan', 'aws', 'prod', '-c', 'examples/aws.yaml', '--render', hostile)).code).toBe(0);
    expect(existsSync(victim)).toBe(true);
  });
});
