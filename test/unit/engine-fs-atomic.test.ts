import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { readJsonIfExists, writeFileAtomic, writeJsonAtomic } from '../../src/fs-atomic.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookout-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes the content with mode 0600 and leaves no temporary file', async () => {
    const target = join(dir, 'journal.json');
    await writeFileAtomic(target, 'first');
    await writeFileAtomic(target, 'second, longer than the first');
    expect(await readFile(target, 'utf8')).toBe('second, longer than the first');
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['journal.json']);
  });

  it('sets exactly the requested mode, whatever the umask', async () => {
    const target = join(dir, 'public.txt');
    const previous = process.umask(0o077);
    try {
      await writeFileAtomic(target, 'x', { mode: 0o644 });
    } finally {
      process.umask(previous);
    }
    expect((await stat(target)).mode & 0o777).toBe(0o644);
  });

  it('replaces a file that had wider permissions with a 0600 one', async () => {
    const target = join(dir, 'token');
    await writeFile(target, 'old', { mode: 0o644 });
    await writeFileAtomic(target, 'new');
    expect((await stat(target)).mode & 0o777).toBe(0o600);
  });

  it('creates missing parent directories with mode 0700', async () => {
    const target = join(dir, 'home', 'prod', 'journal.json');
    await writeFileAtomic(target, Buffer.from('bytes'));
    expect(await readFile(target, 'utf8')).toBe('bytes');
    expect((await stat(join(dir, 'home'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'home', 'prod'))).mode & 0o777).toBe(0o700);
  });

  it('leaves the target and the directory untouched when the rename fails', async () => {
    // A directory in the way makes rename(2) fail after the temporary file was written.
    const target = join(dir, 'blocked');
    await mkdir(target);
    await writeFile(join(target, 'keep'), 'k');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['blocked']);
    expect(await readdir(target)).toEqual(['keep']);
  });

  it('keeps one of the complete contents when writers race, never a mix', async () => {
    const target = join(dir, 'race.json');
    const contents = Array.from({ length: 20 }, (_, i) => JSON.stringify({ writer: i, pad: 'x'.repeat(10_000 + i) }));
    await Promise.all(contents.map((c) => writeFileAtomic(target, c)));
    expect(contents).toContain(await readFile(target, 'utf8'));
    expect(await readdir(dir)).toEqual(['race.json']);
  });
});

describe('readJsonIfExists', () => {
  it('returns undefined for a missing file', async () => {
    expect(await readJsonIfExists(join(dir, 'nope.json'))).toBeUndefined();
  });

  it('reads back what writeJsonAtomic wrote', async () => {
    const target = join(dir, 'record.json');
    const value = { name: 'prod', steps: [1, 2, 3], nested: { ok: true } };
    await writeJsonAtomic(target, value);
    expect(await readJsonIfExists<typeof value>(target)).toEqual(value);
  });

  it('names the file when it is not JSON', async () => {
    const target = join(dir, 'broken.json');
    await writeFile(target, '{"half": ');
    const err = await readJsonIfExists(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toContain(target);
    expect((err as FailureError).hint).toBeTruthy();
  });
});
