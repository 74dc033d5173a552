/**
 * Every publishable package's tarball, as `npm pack` would make it (the build is fresh: the
 * global setup ran `tsc -b`), is complete by the rules the release enforces
 * (scripts/packages-lib.mjs). The rules themselves are shown to catch what they are for.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedFiles, publishablePackages, tarballProblems } from '../../scripts/packages-lib.mjs';
import { installCommand, readmeExample } from './readme.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const packages = publishablePackages(root);
const files = packedFiles(root);

describe('package tarballs', () => {
  it.each(packages.map((p) => [p.name, p] as const))('%s is complete', (name, pkg) => {
    expect(files.get(name), `npm pack lists ${name}`).toBeDefined();
    expect(tarballProblems(pkg, files.get(name)!, { root, packages })).toEqual([]);
  });

  it.each(packages.filter((p) => p.location !== '').map((p) => [p.name, p] as const))(
    '%s: its README says how to install it and has one example program',
    (name, pkg) => {
      const readme = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
      expect(installCommand(readme).slice(0, 2)).toEqual(['install', name]);
      expect(readmeExample(readme).program).toContain(`from '${name}'`);
    },
  );
});

describe('the completeness rules', () => {
  let dir = '';
  // Made in a hook, not while collecting: a run filtered to other tests skips afterAll too.
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-tarball-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };

  it('catch what the tarballs lacked before (a LICENSE, a repository, the files exports and source maps point at) and what users would lack', () => {
    // The component packages as they were: sources not shipped, no LICENSE, no repository.
    const manifest = {
      name: '@lookout/example',
      version: '0.1.0',
      license: 'Apache-2.0',
      main: './dist/index.js',
      types: './dist/index.d.ts',
      exports: { '.': { 'lookout-source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
      engines: { node: '>=20.19' },
      dependencies: { '@lookout/kube': '^0.0.9' },
    };
    write('package.json', JSON.stringify(manifest));
    write('README.md', '# example\n');
    write('dist/index.js', "import { parse } from 'yaml';\nexport const read = parse;\n//# sourceMappingURL=index.js.map");
    write('dist/index.js.map', JSON.stringify({ version: 3, sources: ['../src/index.ts'], mappings: '' }));
    write('dist/index.d.ts', 'export {};\n');
    write('dist/tsconfig.tsbuildinfo', '{}');
    const pkg = { name: manifest.name, version: manifest.version, dir, location: 'components/example', manifest };
    const shipped = ['package.json', 'README.md', 'dist/index.js', 'dist/index.js.map', 'dist/index.d.ts', 'dist/tsconfig.tsbuildinfo'];
    const problems = tarballProblems(pkg, shipped, { root, packages: [...packages, { ...pkg, name: '@lookout/kube', version: '0.1.0' }] });
    expect(problems).toEqual([
      'LICENSE is not in the tarball',
      'repository is missing (an object with type, url and, for a workspace package, directory)',
      'publishConfig.access is not "public": a scoped package would be published restricted',
      'exports["."]["lookout-source"] → ./src/index.ts is not in the tarball',
      'dist/index.js.map: its source src/index.ts is not in the tarball (it no longer exists: a stale build output, which `npm run clean` removes)',
      'dist/tsconfig.tsbuildinfo is a TypeScript build cache, not for users',
      'dist/index.js imports yaml, which is not among its dependencies or peerDependencies',
      'dependencies.@lookout/kube is "^0.0.9", but @lookout/kube is released as 0.1.0 with it',
    ]);
  });

  it('accept the same package once it ships what it points at', () => {
    const manifest = {
      name: '@lookout/example',
      version: '0.1.0',
      license: 'Apache-2.0',
      repository: { type: 'git', url: 'git+https://example.com/x.git', directory: 'components/example' },
      main: './dist/index.js',
      exports: { '.': { 'lookout-source': './src/index.ts', default: './dist/index.js' } },
      engines: { node: '>=20.19' },
      publishConfig: { access: 'public' },
    };
    write('package.json', JSON.stringify(manifest));
    write('LICENSE', readFileSync(join(root, 'LICENSE'), 'utf8'));
    write('src/index.ts', 'export {};\n');
    write('dist/index.js', 'export {};\n//# sourceMappingURL=index.js.map');
    const pkg = { name: manifest.name, version: manifest.version, dir, location: 'components/example', manifest };
    const shipped = ['package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.js.map', 'src/index.ts'];
    expect(tarballProblems(pkg, shipped, { root, packages })).toEqual([]);
  });
});
