/**
 * The list of pinned test binaries and the wrapper module the builder writes for each: the
 * pins must match the npm packages that drive them, and every upstream `replace` must be
 * carried over (relative ones at the pinned sibling version), or the build silently differs
 * from upstream's.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { entryKey, loadPinned, recipeHash, wrapperGoMod } from '../../scripts/test-binaries-lib.mjs';
import { testBinaries } from '../support/test-binaries.js';

const require = createRequire(import.meta.url);

interface Entry {
  name: string;
  module: string;
  version: string;
  release?: string;
  siblings?: string;
  packages: Record<string, string>;
  ldflags: string[];
  why: string;
}

const pinned = loadPinned() as Entry[];
const byName = (name: string) => pinned.filter((e) => e.name === name);

describe('test/binaries.json', () => {
  it('pins every entry to an exact module version and names what it builds and why', () => {
    expect(pinned.length).toBeGreaterThan(0);
    for (const e of pinned) {
      expect(e.version, entryKey(e)).toMatch(/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
      expect(Object.keys(e.packages).length, entryKey(e)).toBeGreaterThan(0);
      for (const pkg of Object.values(e.packages)) expect(pkg.startsWith(e.module), `${entryKey(e)}: ${pkg}`).toBe(true);
      expect(e.why.length, entryKey(e)).toBeGreaterThan(10);
    }
    const keys = pinned.map(entryKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('builds the Pulumi CLI at exactly the version of @pulumi/pulumi, with its version ldflag', () => {
    const npmVersion = (require('@pulumi/pulumi/package.json') as { version: string }).version;
    const [cli] = byName('pulumi');
    expect(cli!.version).toBe(`v${npmVersion}`);
    expect(cli!.ldflags).toContain(`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${npmVersion}`);
  });

  it('builds the Kubernetes provider at the release @pulumi/kubernetes asks the engine for', () => {
    const pkg = require('@pulumi/kubernetes/package.json') as { version: string; pulumi?: { version?: string } };
    const wanted = pkg.pulumi?.version ?? pkg.version;
    const [provider] = byName('pulumi-resource-kubernetes');
    expect(provider!.release ?? provider!.version).toBe(`v${wanted}`);
    expect(provider!.ldflags.join(' ')).toContain(`version.Version=${wanted}`);
  });

  it('needs no random provider (the proxy refuses pulumi-random): no package depends on @pulumi/random', () => {
    for (const file of ['../../package.json', ...['tenant', 'gateway', 'kube', 'aws', 'metrics-store', 'log-store', 'self-monitoring'].map((c) => `../../components/${c}/package.json`)]) {
      const pkg = JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as Record<string, Record<string, string> | undefined>;
      const deps = { ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.devDependencies };
      expect(Object.keys(deps), file).not.toContain('@pulumi/random');
    }
  });

  it('changes the recipe hash when anything that shapes the build changes, and not for the explanation', () => {
    const e = pinned[0]!;
    expect(recipeHash({ ...e, why: 'another explanation' })).toBe(recipeHash(e));
    expect(recipeHash({ ...e, version: 'v0.0.1' })).not.toBe(recipeHash(e));
    expect(recipeHash({ ...e, ldflags: [...e.ldflags, '-X a.b=c'] })).not.toBe(recipeHash(e));
  });
});

describe('the wrapper module of a build', () => {
  const upstream = `module go.etcd.io/etcd/server/v3

go 1.23

require go.etcd.io/etcd/api/v3 v3.5.24

require (
	go.etcd.io/etcd/client/v2 v2.305.24
	k8s.io/api v0.0.0
)

replace (
	go.etcd.io/etcd/api/v3 => ../api
	go.etcd.io/etcd/client/v3 => ../client/v3 // a comment
	go.etcd.io/etcd/client/v2 => ../client/v2
	k8s.io/api => ./staging/src/k8s.io/api
)

// Bad imports are sometimes causing attempts to pull that code.
replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
`;
  const entry = { name: 'etcd', module: 'go.etcd.io/etcd/server/v3', version: 'v3.5.24', siblings: 'v3.5.24' };

  it('requires the pinned module, keeps upstream replaces, and pins in-repository ones to the sibling version', () => {
    const mod = wrapperGoMod(entry, upstream);
    expect(mod).toContain('module lookout.test/etcd');
    expect(mod).toContain('go 1.23');
    expect(mod).toContain('require go.etcd.io/etcd/server/v3 v3.5.24');
    expect(mod).toContain('replace go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v3.5.24');
    expect(mod).toContain('replace go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 v3.5.24');
    // The released version upstream requires wins over the sibling version; a v0.0.0 placeholder does not.
    expect(mod).toContain('replace go.etcd.io/etcd/client/v2 => go.etcd.io/etcd/client/v2 v2.305.24');
    expect(mod).toContain('replace k8s.io/api => k8s.io/api v3.5.24');
    expect(mod).toContain('replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e');
    expect(mod).not.toContain('FORBIDDEN');
  });

  it('points the module at a prepared copy of its source when the build generates files first', () => {
    expect(wrapperGoMod(entry, upstream, '/cache/work/src')).toContain('replace go.etcd.io/etcd/server/v3 => /cache/work/src');
  });

  it('refuses an in-repository replace without a sibling version instead of building something else', () => {
    expect(() => wrapperGoMod({ ...entry, siblings: undefined }, upstream)).toThrow(/upstream replaces .* give the entry a "siblings" version/);
  });
});

describe('looking up built binaries', () => {
  it('names what is missing and the command that builds it', () => {
    const previous = process.env.LOOKOUT_TEST_BIN_DIR;
    process.env.LOOKOUT_TEST_BIN_DIR = '/nonexistent/lookout-test-bin';
    try {
      const found = testBinaries(['etcd', { name: 'kubernetes', binary: 'kube-apiserver' }]);
      expect(found.paths).toEqual({});
      expect(found.missing).toContain('etcd (etcd@v3.5.24)');
      expect(found.missing).toContain('kube-apiserver (kubernetes@');
      expect(found.missing).toContain('`npm run test:binaries -- etcd kubernetes`');
    } finally {
      if (previous === undefined) delete process.env.LOOKOUT_TEST_BIN_DIR;
      else process.env.LOOKOUT_TEST_BIN_DIR = previous;
    }
  });

  it('refuses a binary the list does not build', () => {
    expect(() => testBinaries([{ name: 'etcd', binary: 'etcdctl' }])).toThrow(/builds no program named etcdctl/);
  });
});
