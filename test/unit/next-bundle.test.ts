/**
 * scripts/next-bundle.mjs: the next bundle is made from the newest one, chains to it, and
 * validates; bundles that do not chain are refused and nothing is written.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chainProblems, createNextBundle, nextVersion, readBundles } from '../../scripts/bundles-lib.mjs';
import { availableBundles, bundleManifestSchema } from '../../src/bundle/manifest.js';

const bundlesDir = new URL('../../bundles/', import.meta.url).pathname;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function copyOfBundles(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-bundles-'));
  dirs.push(dir);
  for (const f of readdirSync(bundlesDir)) cpSync(join(bundlesDir, f), join(dir, f));
  return dir;
}

describe('next bundle', () => {
  it('the shipped bundles chain', () => {
    expect(chainProblems(readBundles(bundlesDir))).toEqual([]);
    expect(readBundles(bundlesDir).map((b) => b.manifest.version)).toEqual(availableBundles());
  });

  it('is next month’s by default, rolling over the year', () => {
    expect(nextVersion('2026.11.0')).toBe('2026.12.0');
    expect(nextVersion('2026.12.0')).toBe('2027.1.0');
  });

  it('copies the newest bundle’s pins and sizing, chains to it, drops its upstream notes and migrations, and validates', () => {
    const dir = copyOfBundles();
    const newest = availableBundles().at(-1)!;
    const created = createNextBundle(dir, { released: '2027-01-05' });
    expect(created).toMatchObject({ version: nextVersion(newest), previous: newest });
    const next = JSON.parse(readFileSync(created.path, 'utf8'));
    const before = JSON.parse(readFileSync(join(bundlesDir, `${newest}.json`), 'utf8'));
    expect(next).toMatchObject({ version: nextVersion(newest), previous: newest, released: '2027-01-05', migrations: [], sizing: before.sizing });
    for (const [name, c] of Object.entries(next.components as Record<string, { image: unknown; upstream?: unknown }>)) {
      expect(c.image, name).toEqual(before.components[name].image);
      expect(c.upstream, name).toBeUndefined();
    }
    expect(bundleManifestSchema.safeParse(next).success).toBe(true);
    expect(chainProblems(readBundles(dir))).toEqual([]);
  });

  it('refuses, writing nothing, when the bundles do not chain, or the version exists or is older', () => {
    const dir = copyOfBundles();
    const newest = availableBundles().at(-1)!;
    const file = join(dir, `${newest}.json`);
    const broken = { ...JSON.parse(readFileSync(file, 'utf8')), previous: '2026.10.0' };
    writeFileSync(file, JSON.stringify(broken));
    expect(() => createNextBundle(dir, { released: '2027-01-05' })).toThrow(/do not chain.*previous is "2026\.10\.0", but the bundle before it is/s);
    expect(existsSync(join(dir, `${nextVersion(newest)}.json`))).toBe(false);

    const fine = copyOfBundles();
    expect(() => createNextBundle(fine, { version: newest, released: '2027-01-05' })).toThrow(/is not newer than the newest bundle/);
    expect(() => createNextBundle(fine, { version: 'next', released: '2027-01-05' })).toThrow(/is not a bundle version/);
  });

  it('refuses a migration id that an earlier bundle already used', () => {
    const dir = copyOfBundles();
    const created = createNextBundle(dir, { released: '2027-01-05' });
    const next = JSON.parse(readFileSync(created.path, 'utf8'));
    next.migrations = [{ id: 'loki-ruler-storage', description: 'again' }];
    writeFileSync(created.path, JSON.stringify(next));
    expect(chainProblems(readBundles(dir))).toEqual([`${created.version}.json: migration loki-ruler-storage is already in 2026.12.0.json`]);
  });

  it('the script: --check passes on the shipped bundles, and a bad argument exits 2', () => {
    const script = new URL('../../scripts/next-bundle.mjs', import.meta.url).pathname;
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toMatch(/^bundles chain: 2026\.11\.0 → 2026\.12\.0/);
    const bad = spawnSync(process.execPath, [script, '--nope'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/usage: npm run bundle:next/);
  });
});
