import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engineBackendUrl, resolveBackend } from '../../src/pulumi/backend.js';
import { removeBrokenSidecars } from '../../src/pulumi/file-sidecars.js';

describe('engineBackendUrl', () => {
  it('turns fileblob sidecars off for a file backend and leaves bucket URLs as they are', () => {
    expect(engineBackendUrl(resolveBackend('prod', 'file:///var/lib/lookout'))).toBe('file:///var/lib/lookout?metadata=skip');
    expect(engineBackendUrl(resolveBackend('prod', 's3://acme-state/prod?region=eu-west-1'))).toBe('s3://acme-state/prod?region=eu-west-1');
    // The URL Lookout records and compares stays without it.
    expect(resolveBackend('prod', 'file:///var/lib/lookout').url).toBe('file:///var/lib/lookout');
  });
});

describe('removeBrokenSidecars', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-sidecars-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('removes empty and torn sidecars under .pulumi, and keeps valid ones and the objects themselves', async () => {
    const stacks = join(dir, '.pulumi', 'stacks', 'lookout-prod');
    const locks = join(dir, '.pulumi', 'locks', 'organization', 'lookout-prod', 'platform');
    await mkdir(stacks, { recursive: true });
    await mkdir(locks, { recursive: true });
    await writeFile(join(stacks, 'platform.json'), '{"version":3}');
    await writeFile(join(stacks, 'platform.json.attrs'), '');
    await writeFile(join(stacks, 'tenant-a.json'), '{"version":3}');
    await writeFile(join(stacks, 'tenant-a.json.attrs'), '{"user.cache_control":"","md5":"AA=="}');
    await writeFile(join(stacks, 'tenant-b.json.bak.attrs'), '{"user.content_type":"appl');
    await writeFile(join(locks, 'a1.json.attrs'), '[]');

    const removed = await removeBrokenSidecars(dir);

    expect(removed).toEqual([join(locks, 'a1.json.attrs'), join(stacks, 'platform.json.attrs'), join(stacks, 'tenant-b.json.bak.attrs')].sort());
    expect((await readdir(stacks)).sort()).toEqual(['platform.json', 'tenant-a.json', 'tenant-a.json.attrs']);
  });

  it('finds nothing in a backend that has no state yet', async () => {
    expect(await removeBrokenSidecars(join(dir, 'missing'))).toEqual([]);
    expect(await removeBrokenSidecars(dir)).toEqual([]);
  });
});
