/**
 * `lookout list [--state url] [--json]`: every instance this machine knows (records and
 * pointers under ~/.lookout/), and, with --state, every instance whose state is in that
 * bucket: provider, region, bundle, created, and the last run with its result. Reads records
 * and journals only: no passphrase, no engine, no cloud API but the state bucket's.
 */
import { readdir } from 'node:fs/promises';
import type { RunRecord } from '../engine/journal.js';
import { lookoutHome } from '../paths.js';
import type { InstanceRecord } from '../state/instance-record.js';
import type { DiyStore } from '../pulumi/diy-store.js';
import { printResult } from './output.js';

export interface InstanceSummary {
  name: string;
  /** `this machine`, or the state URL. */
  where: string;
  status: string;
  provider?: string;
  region?: string;
  bundle?: string;
  createdAt?: string;
  lastRun?: { command: string; status: string; at: string };
}

/** The newest run of a journal, as `list` shows it. */
export function lastRunOf(runs: readonly RunRecord[] | undefined): InstanceSummary['lastRun'] {
  const last = [...(runs ?? [])].sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : 1)).at(-1);
  return last ? { command: last.command, status: last.status, at: last.finishedAt ?? last.updatedAt } : undefined;
}

export function summarize(record: InstanceRecord, where: string, runs: readonly RunRecord[] | undefined): InstanceSummary {
  const lastRun = lastRunOf(runs);
  return {
    name: record.name,
    where,
    status: record.status,
    provider: record.provider,
    region: record.region,
    bundle: record.bundle,
    createdAt: record.createdAt,
    ...(lastRun ? { lastRun } : {}),
  };
}

/** Instances under ~/.lookout/: full records, and pointers to shared state (shown as such). */
export async function localInstances(): Promise<InstanceSummary[]> {
  const { readJsonIfExists } = await import('../fs-atomic.js');
  const { instancePaths } = await import('../paths.js');
  const names = await readdir(lookoutHome()).catch(() => [] as string[]);
  const out: InstanceSummary[] = [];
  for (const name of names.sort()) {
    const entry = await readJsonIfExists<Partial<InstanceRecord> & { stateUrl?: string; status?: string }>(instancePaths(name).instanceRecord);
    if (!entry?.name) continue;
    if (entry.provider === undefined) {
      out.push({ name, where: entry.stateUrl ?? 'this machine', status: entry.status ?? 'unknown' });
      continue;
    }
    // Read as plain JSON: a journal this lookout cannot take over is still worth showing.
    const journal = await readJsonIfExists<{ runs?: RunRecord[] }>(instancePaths(name).journal).catch(() => undefined);
    out.push(summarize(entry as InstanceRecord, 'this machine', journal?.runs));
  }
  return out;
}

/** Instances whose state is in the bucket of `stateUrl`: every `.lookout/<name>/instance.json`. */
export async function bucketInstances(store: DiyStore, stateUrl: string): Promise<InstanceSummary[]> {
  const keys = await store.list('.lookout');
  const names = [...new Set(keys.map((k) => /^\.lookout\/([^/]+)\/instance\.json$/.exec(k)?.[1]).filter((n): n is string => n !== undefined))].sort();
  const out: InstanceSummary[] = [];
  for (const name of names) {
    const record = JSON.parse(await store.read(`.lookout/${name}/instance.json`)) as InstanceRecord;
    const journal = await store
      .read(`.lookout/${name}/journal.json`)
      .then((text) => JSON.parse(text) as { runs?: RunRecord[] })
      .catch(() => undefined);
    out.push(summarize(record, stateUrl, journal?.runs));
  }
  return out;
}

export function renderInstances(list: readonly InstanceSummary[]): string {
  if (list.length === 0) return 'No instances known here. Create one with `lookout create`, or pass --state with the bucket of a shared one.\n';
  const rows = list.map((i) => [
    i.name,
    i.provider ?? '-',
    i.region ?? '-',
    i.bundle ?? '-',
    i.createdAt?.slice(0, 10) ?? '-',
    i.lastRun ? `${i.lastRun.command} ${i.lastRun.status} ${i.lastRun.at.slice(0, 16).replace('T', ' ')}` : i.status,
    i.where,
  ]);
  const header = ['NAME', 'PROVIDER', 'REGION', 'BUNDLE', 'CREATED', 'LAST RUN', 'STATE'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  return [header, ...rows].map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

export async function listCommand(opts: { state?: string; json?: boolean }): Promise<void> {
  const list = await localInstances();
  if (opts.state) {
    const [{ resolveBackend }, { storeFor }] = await Promise.all([import('../pulumi/backend.js'), import('../pulumi/diy-store.js')]);
    // The backend root does not depend on the instance; any valid name resolves it.
    const backend = resolveBackend('list', opts.state);
    const shared = await bucketInstances(storeFor(backend), opts.state);
    // An instance both pointed to here and found in the bucket is shown once, from the bucket.
    const inBucket = new Set(shared.map((i) => i.name));
    list.splice(0, list.length, ...list.filter((i) => !(inBucket.has(i.name) && i.where === opts.state)), ...shared);
  }
  printResult(opts, { type: 'result', instances: list }, () => renderInstances(list));
}
