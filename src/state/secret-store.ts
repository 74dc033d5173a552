/**
 * The instance's own secrets (the ACME account key, the certificate's private key): kept
 * encrypted with the instance passphrase next to the Pulumi state, so a team sharing an
 * S3 state shares them too, and a resumed run reuses them instead of generating new ones.
 *
 * Format: JSON with the scrypt parameters and salt, and the AES-256-GCM IV, tag and
 * ciphertext of a JSON object of named values. The instance name is authenticated data, so
 * one instance's file cannot be swapped for another's.
 *
 * Changing one value is a read-modify-write of the whole file. Two things keep a concurrent
 * writer's value from being lost: every write happens inside a step, under the instance lock
 * (which on a shared backend is the lock in the bucket, so one machine at a time); and on a
 * shared backend each write is also conditional on the version it was computed from, and is
 * redone on the newest version when that changed. The second covers a run that lost its lock
 * without noticing yet (a machine that was suspended past its lease).
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { FailureError } from '../errors.js';
import type { DiyStore } from '../pulumi/diy-store.js';

export const SECRET_STORE_VERSION = 1;

/**
 * scrypt cost for new files: OWASP's Password Storage Cheat Sheet minimum (N=2^17, r=8, p=1),
 * 128 MiB and a few hundred milliseconds, paid once per command (the derived key is kept for
 * the store's lifetime). Files record their parameters, so files written with older ones
 * (lookout 0.1.0 used N=2^15) still open, and are rewritten with these on their next change.
 */
export const KDF = { N: 2 ** 17, r: 8, p: 1 } as const;
/** Node refuses scrypt above this memory; 128·N·r bytes are needed, the most we accept is N=2^20. */
const MAX_KDF_MEMORY = 1024 * 1024 * 1024 + 64 * 1024 * 1024;

type KdfParams = { N: number; r: number; p: number };

/** Parameters a stored file may ask for: from below guidance up to what one command can afford. */
function acceptableKdf(kdf: Partial<KdfParams> | undefined): kdf is KdfParams {
  if (!kdf) return false;
  const { N, r, p } = kdf;
  return (
    Number.isInteger(N) && N! >= 2 ** 14 && N! <= 2 ** 20 && (N! & (N! - 1)) === 0 &&
    Number.isInteger(r) && r! >= 1 && r! <= 32 && Number.isInteger(p) && p! >= 1 && p! <= 16 && 128 * N! * r! <= MAX_KDF_MEMORY
  );
}

function maxmemFor(kdf: KdfParams): number {
  return 128 * kdf.N * kdf.r + 64 * 1024 * 1024;
}

function scrypt(passphrase: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(passphrase, salt, 32, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

interface SealedFile {
  version: number;
  kdf: { name: 'scrypt'; salt: string; N: number; r: number; p: number };
  cipher: 'aes-256-gcm';
  iv: string;
  tag: string;
  ciphertext: string;
}

export function secretStoreKey(instance: string): string {
  return `.lookout/${instance}/secrets.enc`;
}

/** Writes computed from an outdated version that are redone before giving up. */
const MAX_ATTEMPTS = 5;

export class SecretStore {
  private cache?: Record<string, unknown>;
  /** The version `cache` was read from, on a backend with conditional writes; undefined when there was no file. */
  private version?: string;
  /** The key derived for the current file, with its salt and parameters (one scrypt per store). */
  private derived?: { key: Buffer; salt: Buffer; kdf: KdfParams };
  /** The change being written, if any; the next waits for it. */
  private changing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: DiyStore,
    private readonly instance: string,
    private readonly passphrase: string,
  ) {}

  private get key(): string {
    return secretStoreKey(this.instance);
  }

  /** The sealed file's text (and version), or undefined when there is none. */
  private async readSealed(): Promise<string | undefined> {
    const conditional = this.store.conditional;
    if (conditional) {
      const found = await conditional.get(this.key);
      this.version = found?.version;
      return found?.text;
    }
    return (await this.store.exists(this.key)) ? this.store.read(this.key) : undefined;
  }

  private async load(): Promise<Record<string, unknown>> {
    if (this.cache) return this.cache;
    const text = await this.readSealed();
    if (text === undefined) return (this.cache = {});
    let sealed: SealedFile;
    try {
      sealed = JSON.parse(text) as SealedFile;
    } catch (err) {
      throw new FailureError(`the secrets file ${this.store.location(this.key)} is damaged`, { cause: err });
    }
    if (sealed.version > SECRET_STORE_VERSION) {
      throw new FailureError(`the secrets of instance "${this.instance}" were written by a newer lookout`, {
        hint: 'Upgrade lookout to manage this instance.',
      });
    }
    // The parameters come from the file: bounded, so a damaged file cannot ask for 100 GiB.
    if (sealed.kdf?.name !== 'scrypt' || !acceptableKdf(sealed.kdf)) {
      throw new FailureError(`the secrets file ${this.store.location(this.key)} is damaged (its key derivation parameters are not valid)`);
    }
    const kdf = { N: sealed.kdf.N, r: sealed.kdf.r, p: sealed.kdf.p };
    const salt = Buffer.from(sealed.kdf.salt, 'base64');
    const key = await scrypt(this.passphrase, salt, { ...kdf, maxmem: maxmemFor(kdf) });
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
      decipher.setAAD(Buffer.from(`lookout:${this.instance}:${sealed.version}`));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      const plain = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
      this.cache = JSON.parse(plain.toString('utf8')) as Record<string, unknown>;
      this.derived = { key, salt, kdf };
      return this.cache;
    } catch {
      throw new FailureError(`the passphrase does not open the secrets of instance "${this.instance}"`, {
        hint: 'Use the passphrase the instance was created with (LOOKOUT_PASSPHRASE).',
      });
    }
  }

  async get<T>(name: string): Promise<T | undefined> {
    return (await this.load())[name] as T | undefined;
  }

  async set(name: string, value: unknown): Promise<void> {
    await this.change((values) => ({ ...values, [name]: value }));
  }

  /**
   * Reads, changes and writes one entry as one step: `apply` gets its newest value and returns
   * the next (undefined: leave it). Entries that several steps of one run share (running at the
   * same time, as tenant steps do) must be changed this way, never by a `get` then a `set`.
   * Returns the value the entry has afterwards.
   */
  async update<T>(name: string, apply: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    let result: T | undefined;
    await this.change((values) => {
      const current = values[name] as T | undefined;
      const next = apply(current);
      result = next === undefined ? current : next;
      return next === undefined ? undefined : { ...values, [name]: next };
    });
    return result;
  }

  async delete(name: string): Promise<void> {
    await this.change((values) => {
      if (!(name in values)) return undefined;
      const { [name]: _, ...rest } = values;
      return rest;
    });
  }

  /** Applies `apply` (undefined: nothing to change) to the newest values and writes them. */
  private change(apply: (values: Record<string, unknown>) => Record<string, unknown> | undefined): Promise<void> {
    // One change at a time in this process: two concurrent ones would each write what they read
    // plus their own change, and the second would undo the first (a conditional write would
    // catch that, a local file would not).
    const next = this.changing.then(() => this.changeNow(apply));
    this.changing = next.catch(() => {});
    return next;
  }

  private async changeNow(apply: (values: Record<string, unknown>) => Record<string, unknown> | undefined): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const next = apply(await this.load());
      if (next === undefined || (await this.save(next))) return;
      // Someone else wrote since we read: read theirs and apply our change to it.
      this.cache = undefined;
    }
    throw new FailureError(`the secrets of instance "${this.instance}" at ${this.store.location(this.key)} kept changing while this run wrote them`, {
      hint: 'Another lookout run is working on this instance. Run the command again once it is finished.',
    });
  }

  /** The key to seal with: the one already derived when its parameters are current, else a new one. */
  private async sealingKey(): Promise<{ key: Buffer; salt: Buffer; kdf: KdfParams }> {
    const d = this.derived;
    if (d && d.kdf.N >= KDF.N && d.kdf.r >= KDF.r && d.kdf.p >= KDF.p) return d;
    const salt = randomBytes(16);
    const kdf = { ...KDF };
    this.derived = { key: await scrypt(this.passphrase, salt, { ...kdf, maxmem: maxmemFor(kdf) }), salt, kdf };
    return this.derived;
  }

  /** Writes `values`; false when a conditional write found a newer version than ours. */
  private async save(values: Record<string, unknown>): Promise<boolean> {
    // Each write has a fresh random IV, so one key (and salt) serves every write of a command.
    const { key, salt, kdf } = await this.sealingKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`lookout:${this.instance}:${SECRET_STORE_VERSION}`));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(values), 'utf8'), cipher.final()]);
    const sealed: SealedFile = {
      version: SECRET_STORE_VERSION,
      kdf: { name: 'scrypt', salt: salt.toString('base64'), N: kdf.N, r: kdf.r, p: kdf.p },
      cipher: 'aes-256-gcm',
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ciphertext: ciphertext.toString('base64'),
    };
    const text = JSON.stringify(sealed, null, 2) + '\n';
    const conditional = this.store.conditional;
    if (conditional) {
      const version = this.version ? await conditional.replace(this.key, text, this.version) : await conditional.create(this.key, text);
      if (!version) return false;
      this.version = version;
    } else {
      await this.store.write(this.key, text);
    }
    this.cache = values;
    return true;
  }
}
