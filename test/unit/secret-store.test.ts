import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { fileStore } from '../../src/pulumi/diy-store.js';
import { SecretStore, secretStoreKey } from '../../src/state/secret-store.js';
import { memoryObjects } from '../support/memory-objects.js';

const dirs: string[] = [];
function store() {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-secrets-'));
  dirs.push(dir);
  return { dir, store: fileStore(dir) };
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('SecretStore', () => {
  it('round-trips values through an encrypted, 0600 file that holds no plaintext', async () => {
    const { dir, store: s } = store();
    await new SecretStore(s, 'prod', 'correct horse').set('acme.accountKey', { pem: 'SECRET-KEY-MATERIAL' });
    const file = join(dir, ...secretStoreKey('prod').split('/'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain('SECRET-KEY-MATERIAL');
    // A fresh store (another command) reads it back with the passphrase.
    expect(await new SecretStore(s, 'prod', 'correct horse').get('acme.accountKey')).toEqual({ pem: 'SECRET-KEY-MATERIAL' });
  });

  it('keeps other values when one is set or deleted', async () => {
    const { store: s } = store();
    const a = new SecretStore(s, 'prod', 'pw');
    await a.set('one', 1);
    await a.set('two', 2);
    await a.delete('one');
    const b = new SecretStore(s, 'prod', 'pw');
    expect(await b.get('one')).toBeUndefined();
    expect(await b.get('two')).toBe(2);
  });

  it('refuses a wrong passphrase with a clear error', async () => {
    const { store: s } = store();
    await new SecretStore(s, 'prod', 'right').set('k', 'v');
    const err = (await new SecretStore(s, 'prod', 'wrong').get('k').catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toBe('the passphrase does not open the secrets of instance "prod"');
  });

  it('detects tampering and a file moved from another instance', async () => {
    const { dir, store: s } = store();
    await new SecretStore(s, 'prod', 'pw').set('k', 'v');
    const prodFile = join(dir, ...secretStoreKey('prod').split('/'));
    const sealed = JSON.parse(readFileSync(prodFile, 'utf8'));
    // Copied under another instance: the instance name is authenticated.
    const other = join(dir, ...secretStoreKey('staging').split('/'));
    await new SecretStore(s, 'staging', 'pw').set('x', 1);
    writeFileSync(other, JSON.stringify(sealed));
    await expect(new SecretStore(s, 'staging', 'pw').get('k')).rejects.toThrow(/does not open/);
    // One flipped bit in the ciphertext.
    const bytes = Buffer.from(sealed.ciphertext, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    writeFileSync(prodFile, JSON.stringify({ ...sealed, ciphertext: bytes.toString('base64') }));
    await expect(new SecretStore(s, 'prod', 'pw').get('k')).rejects.toThrow(/does not open/);
  });

  it('writes new files with the OWASP minimum scrypt cost, and derives the key once per store', async () => {
    const { dir, store: s } = store();
    const secrets = new SecretStore(s, 'prod', 'pw');
    await secrets.set('a', 1);
    const file = join(dir, ...secretStoreKey('prod').split('/'));
    const first = JSON.parse(readFileSync(file, 'utf8'));
    expect(first.kdf).toMatchObject({ name: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
    await secrets.set('b', 2);
    const second = JSON.parse(readFileSync(file, 'utf8'));
    // Same key and salt, a new IV for each write.
    expect(second.kdf.salt).toBe(first.kdf.salt);
    expect(second.iv).not.toBe(first.iv);
  });

  it('opens a store written by lookout 0.1.0 (scrypt N=2^15) and rewrites it with the current cost on its next change', async () => {
    const { dir, store: s } = store();
    const file = join(dir, ...secretStoreKey('legacy').split('/'));
    mkdirSync(dirname(file), { recursive: true });
    const fixture = readFileSync(new URL('../fixtures/secret-store/scrypt-n15-v1.enc', import.meta.url), 'utf8');
    expect(JSON.parse(fixture).kdf.N).toBe(2 ** 15);
    writeFileSync(file, fixture);
    const passphrase = 'the passphrase of a store written by lookout 0.1.0';
    const legacy = new SecretStore(s, 'legacy', passphrase);
    expect(await legacy.get('tls.certificate')).toEqual({ keyPem: 'FIXTURE-KEY-MATERIAL', names: ['obs.example.com'] });
    await legacy.set('acme.account', { url: 'https://ca.example/acct/1' });
    const rewritten = JSON.parse(readFileSync(file, 'utf8'));
    expect(rewritten.kdf).toMatchObject({ N: 2 ** 17, r: 8, p: 1 });
    expect(await new SecretStore(s, 'legacy', passphrase).get('tls.certificate')).toEqual({ keyPem: 'FIXTURE-KEY-MATERIAL', names: ['obs.example.com'] });
  });

  it('refuses key derivation parameters out of bounds instead of trying them', async () => {
    const { dir, store: s } = store();
    await new SecretStore(s, 'prod', 'pw').set('k', 'v');
    const file = join(dir, ...secretStoreKey('prod').split('/'));
    const sealed = JSON.parse(readFileSync(file, 'utf8'));
    for (const kdf of [{ N: 2 ** 30 }, { N: 1000 }, { r: 0 }, { p: 1e6 }]) {
      writeFileSync(file, JSON.stringify({ ...sealed, kdf: { ...sealed.kdf, ...kdf } }));
      await expect(new SecretStore(s, 'prod', 'pw').get('k'), JSON.stringify(kdf)).rejects.toThrow(/damaged \(its key derivation parameters are not valid\)/);
    }
  });

  it('applies concurrent changes of one process one after another: none is lost, on a local file', async () => {
    const { store: s } = store();
    const shared = new SecretStore(s, 'prod', 'pw');
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => shared.set(`tenant-credentials:t${i}`, { i })),
      ...Array.from({ length: 8 }, () => shared.update<number>('counter', (n) => (n ?? 0) + 1)),
    ]);
    const fresh = new SecretStore(s, 'prod', 'pw');
    expect(await fresh.get('counter')).toBe(8);
    for (let i = 0; i < 8; i++) expect(await fresh.get(`tenant-credentials:t${i}`)).toEqual({ i });
  });

  it('update leaves the file alone when it returns undefined, and gives back the current value', async () => {
    const { dir, store: s } = store();
    const a = new SecretStore(s, 'prod', 'pw');
    await a.set('ids', { a: 1 });
    const file = join(dir, ...secretStoreKey('prod').split('/'));
    const before = readFileSync(file, 'utf8');
    expect(await a.update<{ a: number }>('ids', () => undefined)).toEqual({ a: 1 });
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('starts empty when no file exists', async () => {
    const { store: s } = store();
    expect(await new SecretStore(s, 'new', 'pw').get('anything')).toBeUndefined();
  });
});

describe('SecretStore on an S3 state backend', () => {
  it('writes the sealed file next to the Pulumi state with a conditional write, encrypted at rest, and reads it back', async () => {
    const { mockClient } = await import('aws-sdk-client-mock');
    const { S3Client, PutObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const { s3Store } = await import('../../src/pulumi/diy-store.js');
    const s3 = mockClient(S3Client);
    const objects = new Map<string, string>();
    s3.on(PutObjectCommand).callsFake((input: { Key: string; Body: string }) => {
      objects.set(input.Key, input.Body);
      return { ETag: `"${objects.size}"` };
    });
    s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
      if (!objects.has(input.Key)) throw Object.assign(new Error('nf'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      return { Body: { transformToString: async () => objects.get(input.Key)! }, ETag: '"1"' };
    });
    const store = s3Store('team-state', 'lookout', new S3Client({ region: 'eu-west-1' }));
    await new SecretStore(store, 'prod', 'pw').set('tls', { key: 'PRIVATE' });
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Bucket: 'team-state', Key: 'lookout/.lookout/prod/secrets.enc', ServerSideEncryption: 'AES256', IfNoneMatch: '*' });
    expect(String(put.Body)).not.toContain('PRIVATE');
    const reader = new SecretStore(store, 'prod', 'pw');
    expect(await reader.get('tls')).toEqual({ key: 'PRIVATE' });
    await reader.set('acme', 'ACCOUNT');
    expect(s3.commandCalls(PutObjectCommand)[1]!.args[0].input).toMatchObject({ IfMatch: '"1"' });
    s3.restore();
  });

  it('never loses a value another machine wrote between its read and its write', async () => {
    const objects = memoryObjects();
    const store = { ...fileStore('/nonexistent'), kind: 's3' as const, location: (k: string) => `s3://team-state/${k}`, conditional: objects };
    const a = new SecretStore(store, 'prod', 'pw');
    const b = new SecretStore(store, 'prod', 'pw');
    await a.get('anything'); // machine A has read the (empty) secrets
    await b.set('certificate.key', 'B-KEY'); // machine B writes in between
    await a.set('acme.accountKey', 'A-KEY'); // A's write was computed from an old version: redone on B's
    const fresh = new SecretStore(store, 'prod', 'pw');
    expect(await fresh.get('certificate.key')).toBe('B-KEY');
    expect(await fresh.get('acme.accountKey')).toBe('A-KEY');
    expect(objects.calls.filter((c) => c.startsWith('replace') || c.startsWith('create'))).toEqual([
      `create ${secretStoreKey('prod')}`,
      `create ${secretStoreKey('prod')}`,
      `replace ${secretStoreKey('prod')}`,
    ]);
  });
});
