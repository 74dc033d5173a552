/**
 * Conditional object writes in memory, with S3's semantics: the version is the MD5 of the
 * content (as an SSE-S3 ETag is), so writing the same bytes gives the same version. Tests can
 * make the next calls fail, or act between two calls.
 */
import { createHash } from 'node:crypto';
import type { ConditionalObjects } from '../../src/pulumi/diy-store.js';

export interface MemoryObjects extends ConditionalObjects {
  objects: Map<string, string>;
  /** Calls made, as `<op> <key>`. */
  calls: string[];
  /** Runs before the next call of `op` (once), for example to write something first. */
  before(op: 'get' | 'create' | 'replace' | 'remove', action: () => void | Promise<void>): void;
  /** Every call of `op` throws `error` until `heal()` is called. */
  failing(op: 'get' | 'create' | 'replace' | 'remove', error: Error): { heal(): void };
  /** Writes `text` as someone else would, unconditionally; returns its version. */
  put(key: string, text: string): string;
}

const etag = (text: string) => `"${createHash('md5').update(text).digest('hex')}"`;

export function memoryObjects(): MemoryObjects {
  const objects = new Map<string, string>();
  const calls: string[] = [];
  const hooks = new Map<string, () => void | Promise<void>>();
  const failures = new Map<string, Error>();
  const enter = async (op: string, key: string) => {
    calls.push(`${op} ${key}`);
    const hook = hooks.get(op);
    if (hook) {
      hooks.delete(op);
      await hook();
    }
    const failure = failures.get(op);
    if (failure) throw failure;
  };
  const versionOf = (key: string) => (objects.has(key) ? etag(objects.get(key)!) : undefined);
  return {
    objects,
    calls,
    before: (op, action) => void hooks.set(op, action),
    failing(op, error) {
      failures.set(op, error);
      return { heal: () => void failures.delete(op) };
    },
    put(key, text) {
      objects.set(key, text);
      return etag(text);
    },
    async get(key) {
      await enter('get', key);
      const text = objects.get(key);
      return text === undefined ? undefined : { text, version: etag(text) };
    },
    async create(key, text) {
      await enter('create', key);
      if (objects.has(key)) return undefined;
      objects.set(key, text);
      return etag(text);
    },
    async replace(key, text, version) {
      await enter('replace', key);
      if (versionOf(key) !== version) return undefined;
      objects.set(key, text);
      return etag(text);
    },
    async remove(key, version) {
      await enter('remove', key);
      if (!objects.has(key)) return true;
      if (versionOf(key) !== version) return false;
      objects.delete(key);
      return true;
    },
  };
}
