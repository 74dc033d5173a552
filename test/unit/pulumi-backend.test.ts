import { mkdtemp, mkdir, chmod, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { instancePaths } from '../../src/paths.js';
import { prepareBackend, resolveBackend } from '../../src/pulumi/backend.js';

let home: string;
const savedHome = process.env.LOOKOUT_HOME;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'lookout-backend-'));
  process.env.LOOKOUT_HOME = home;
});
afterEach(async () => {
  if (savedHome === undefined) delete process.env.LOOKOUT_HOME;
  else process.env.LOOKOUT_HOME = savedHome;
  await rm(home, { recursive: true, force: true });
});

function usageError(flag: string): UsageError {
  try {
    resolveBackend('prod', flag);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`--state ${flag} was accepted`);
}

describe('resolveBackend', () => {
  it('defaults to the file backend in the instance directory', () => {
    const b = resolveBackend('prod');
    const dir = instancePaths('prod').pulumiState;
    expect(dir.startsWith(home)).toBe(true);
    expect(b).toEqual({ kind: 'file', url: `file://${dir}`, display: dir, dir, owned: true });
  });

  it.each([
    ['s3://acme-lookout-state', { bucket: 'acme-lookout-state', prefix: '', url: 's3://acme-lookout-state' }],
    ['s3://acme-lookout-state/prod', { bucket: 'acme-lookout-state', prefix: 'prod', url: 's3://acme-lookout-state/prod' }],
    ['s3://acme.state-1/teams/obs/', { bucket: 'acme.state-1', prefix: 'teams/obs', url: 's3://acme.state-1/teams/obs' }],
  ])('accepts %s', (flag, expected) => {
    const b = resolveBackend('prod', flag);
    expect(b.kind).toBe('s3');
    expect(b).toMatchObject(expected);
    expect(b).not.toHaveProperty('region');
  });

  it('keeps the region of an S3 URL and shows it', () => {
    const b = resolveBackend('prod', 's3://acme-lookout-state/prod?region=eu-west-1');
    expect(b).toMatchObject({
      kind: 's3',
      bucket: 'acme-lookout-state',
      prefix: 'prod',
      region: 'eu-west-1',
      url: 's3://acme-lookout-state/prod?region=eu-west-1',
      display: 's3://acme-lookout-state/prod (eu-west-1)',
    });
  });

  it.each([
    ['gs://acme-lookout-state/prod', { bucket: 'acme-lookout-state', prefix: 'prod', url: 'gs://acme-lookout-state/prod' }],
    ['gs://acme_lookout_state', { bucket: 'acme_lookout_state', prefix: '', url: 'gs://acme_lookout_state' }],
  ])('accepts %s', (flag, expected) => {
    expect(resolveBackend('prod', flag)).toMatchObject({ kind: 'gs', ...expected });
  });

  it('accepts an explicit file:// URL with an absolute path and does not claim the directory', () => {
    expect(resolveBackend('prod', 'file:///srv/lookout/state/')).toEqual({
      kind: 'file',
      url: 'file:///srv/lookout/state',
      display: '/srv/lookout/state',
      dir: '/srv/lookout/state',
      owned: false,
    });
  });

  it.each([
    ['', 'empty'],
    ['http://state.example.com/prod', 'http://'],
    ['https://api.pulumi.com', 'https://'],
    ['azblob://container', 'azblob://'],
    ['/var/lib/lookout', 'bare path'],
    ['./state', 'bare path'],
    ['my-bucket/prod', 'no scheme'],
    ['s3://', 'bucket name is missing'],
    ['s3:///prod', 'bucket name is missing'],
    ['gs://', 'bucket name is missing'],
    ['s3://Acme-State', 'uppercase'],
    ['gs://Acme-State', 'uppercase'],
    ['S3://acme-state', 'lowercase'],
    ['s3://ab', '3 to 63'],
    ['s3://' + 'a'.repeat(64), '3 to 63'],
    ['s3://acme_state', 'lowercase letters, digits, dots and hyphens'],
    ['s3://-acme', 'start and end'],
    ['s3://acme..state', 'two dots'],
    ['s3://192.168.1.10', 'IP address'],
    ['s3://xn--acme', 'prefix S3 reserves'],
    ['s3://acme-s3alias', 'suffix S3 reserves'],
    ['gs://google-state', 'google'],
    ['gs://goog-state', 'goog'],
    ['s3://acme-state//prod', 'empty path segments'],
    ['s3://acme-state/../prod', '".."'],
    ['s3://acme-state/prod?region=EU', 'not an AWS region'],
    ['s3://acme-state/prod?profile=dev', '"region"'],
    ['gs://acme-state/prod?region=eu', 'no query parameters'],
    ['s3://acme-state/prod#x', 'fragment'],
    ['file://relative/state', 'absolute'],
    ['file:///', 'root'],
  ])('rejects %j, naming the flag, what was expected and what was found (%s)', (flag, why) => {
    const err = usageError(flag);
    expect(err.message).toMatch(/^--state: expected s3:\/\/<bucket>/);
    expect(err.message).toContain(`found "${flag.trim()}"`);
    expect(err.message).toContain(why);
    expect(err.hint).toContain('--state');
  });
});

describe('prepareBackend', () => {
  it('creates the default state directory readable by the owner only, and tightens an existing one', async () => {
    const b = resolveBackend('prod');
    if (b.kind !== 'file') throw new Error('expected the file backend');
    await prepareBackend(b);
    expect((await stat(b.dir)).mode & 0o777).toBe(0o700);

    await chmod(b.dir, 0o755);
    await prepareBackend(b);
    expect((await stat(b.dir)).mode & 0o777).toBe(0o700);
  });

  it('leaves the permissions of a directory the user named with file:// alone', async () => {
    const dir = join(home, 'shared-state');
    await mkdir(dir, { mode: 0o750 });
    await chmod(dir, 0o750);
    const b = resolveBackend('prod', `file://${dir}`);
    await prepareBackend(b);
    expect((await stat(dir)).mode & 0o777).toBe(0o750);
  });

  it('does nothing for bucket backends', async () => {
    await expect(prepareBackend(resolveBackend('prod', 's3://acme-state/prod'))).resolves.toBeUndefined();
  });
});
