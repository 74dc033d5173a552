/**
 * Day two for tenants and tokens with the real engine: after a `create kubernetes` on kwok
 * (test/support/kwok-instance.ts: a real API server, versitygw, the real Pulumi engine and
 * Kubernetes provider, the compiled CLI), `tenant add`, `token create`, `token revoke` and
 * `tenant remove --delete-data` change only what they own in the API server (that tenant's
 * objects, the gateway's token Secret, the stores' two runtime ConfigMaps) and in the state
 * (that tenant's stack, the platform's when the limits change): every other object of the
 * instance keeps its resourceVersion, every other stack its checkpoint.
 *
 * How the commands are bounded: `tenant add` and `token create|revoke` end with system-alerting
 * (the system tenant's alerts list the tokens about to expire), which talks to the gateway, and
 * kwok's pods serve nothing. Each is stopped with Ctrl-C (SIGINT) when that step starts, as the
 * create suite does: every stack the command applies is applied by then. The step itself is
 * proven against real nginx and Cortex elsewhere; the CLI knows nothing of this. `tenant remove`
 * has no such step and runs to the end.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_CONFIG_MAP_NAME as LOKI_RUNTIME } from '../../components/log-store/src/log-store.js';
import { RUNTIME_CONFIG_MAP as CORTEX_RUNTIME } from '../../components/metrics-store/src/layout.js';
import { GATEWAY_NAMES } from '../../components/gateway/src/gateway.js';
import { stackNames } from '../../src/naming.js';
import { describeRun, runLookout, type LookoutEvent, type LookoutRun } from '../support/lookout-run.js';
import {
  atSystemAlerting,
  kwokInstanceMissing,
  ownedObjectVersions,
  snapshotDiff,
  startKwokInstance,
  stateDigests,
  type KwokInstance,
} from '../support/kwok-instance.js';
import { suiteTitle } from '../support/test-binaries.js';

const missing = kwokInstanceMissing();
const title = suiteTitle('tenant and token commands against a real API server, engine and S3 store', { paths: {}, ...(missing ? { missing } : {}) });
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const INSTANCE = 'kwokt';
const TENANTS = ['acme', 'beta'];
const NEW = 'gamma';
const PLATFORM_NS = 'lookout';
/** What adding or removing a tenant may change besides its own objects: its keys in the token Secret, and the stores' limits. */
const SHARED_BY_TENANTS = [`ConfigMap ${PLATFORM_NS}/${CORTEX_RUNTIME}`, `ConfigMap ${PLATFORM_NS}/${LOKI_RUNTIME}`, `Secret ${PLATFORM_NS}/${GATEWAY_NAMES.tenantsSecret}`].sort();
const stackFile = (stack: string) => expect.stringMatching(new RegExp(`(^|/)${stack}\\.json$`));
/** How many metric-block objects the new tenant gets: more than one deletion batch (1000), so a kill lands mid-deletion. */
const BLOCK_OBJECTS = 3500;

describe.skipIf(Boolean(missing))(title, () => {
  let lookout: KwokInstance;

  beforeAll(async () => {
    // The CLI runs compiled, as users run it.
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: ROOT, stdio: 'pipe' });
    lookout = await startKwokInstance({ name: INSTANCE, domain: 'obs.lookout.test', tenants: TENANTS });
  }, 600_000);

  afterAll(async () => {
    await lookout?.stop();
  });

  const cli = (args: string[], o: { bounded?: boolean; killWhen?: (e: LookoutEvent) => boolean } = {}) =>
    runLookout([...args, '--yes', '--json'], {
      env: lookout.env,
      deadlineMs: 900_000,
      ...(o.bounded ? { interruptWhen: atSystemAlerting } : {}),
      ...(o.killWhen ? { killWhen: o.killWhen } : {}),
    }).done;

  /** A command stopped at system-alerting (see the top), having applied everything before it. */
  async function bounded(args: string[], steps: string[]): Promise<LookoutRun> {
    const run = await cli(args, { bounded: true });
    expect(run.interrupted, describeRun(run)).toBe(true);
    expect(run.code, describeRun(run)).toBe(130);
    const done = run.events.filter((e) => e.type === 'step-done' || e.type === 'step-skipped').map((e) => (e as { step: string }).step);
    expect(done, describeRun(run)).toEqual(expect.arrayContaining(steps));
    return run;
  }

  const snapshot = async () => ({ objects: await ownedObjectVersions(lookout), states: stateDigests(lookout) });
  const tenantsSecret = async () =>
    (await lookout.cluster.kube.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${PLATFORM_NS}/secrets/${GATEWAY_NAMES.tenantsSecret}`)).data ?? {};
  const decoded = (data: Record<string, string>, key: string) => (data[key] === undefined ? undefined : Buffer.from(data[key]!, 'base64').toString('utf8'));
  const stacks = stackNames(INSTANCE);

  async function tokenValue(tenant: string, name: string): Promise<string> {
    const out = execFileSync(process.execPath, [join(ROOT, 'bin/lookout'), 'token', 'list', INSTANCE, tenant, '--show-tokens', '--json'], { env: lookout.env, encoding: 'utf8' });
    const result = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; tokens?: Array<{ name: string; value?: string }> }).find((e) => e.type === 'result');
    return result?.tokens?.find((t) => t.name === name)?.value ?? '';
  }

  it('creates the instance (bounded at system-alerting), the ground the commands start from', async () => {
    await bounded(['create', 'kubernetes', INSTANCE, '-c', lookout.configPath], ['platform', 'tenant:system', ...TENANTS.map((t) => `tenant:${t}`)]);
    expect((await ownedObjectVersions(lookout)).size).toBeGreaterThan(40);
  }, 1_200_000);

  it('tenant add changes that tenant’s objects and stack, the token Secret and the two runtime ConfigMaps, and nothing else', async () => {
    const before = await snapshot();
    const run = await bounded(['tenant', 'add', INSTANCE, NEW, '-c', lookout.configPath, '--token', 'agent:write'], ['platform', `tenant:${NEW}`]);
    const after = await snapshot();
    // No other tenant's stack ran.
    const ran = run.events.filter((e) => e.type === 'step-started').map((e) => (e as { step: string }).step);
    expect(ran.filter((s) => s.startsWith('tenant'))).toEqual([`tenant:${NEW}`]);

    const objects = snapshotDiff(before.objects, after.objects);
    expect(objects.removed).toEqual([]);
    expect(objects.changed).toEqual(SHARED_BY_TENANTS);
    expect(objects.added.length).toBeGreaterThan(5);
    for (const o of objects.added) expect(o, 'every new object is the new tenant’s').toMatch(new RegExp(`^(Namespace tenant-${NEW}|\\w+ tenant-${NEW}/)`));
    const states = snapshotDiff(before.states, after.states);
    expect(states).toEqual({ added: [stackFile(stacks.tenant(NEW))], changed: [stackFile(stacks.platform)], removed: [] });

    // The runtime limits name the new tenant's id; the Secret holds its two keys.
    const cortex = await lookout.cluster.kube.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${PLATFORM_NS}/configmaps/${CORTEX_RUNTIME}`);
    expect(JSON.stringify(cortex.data)).toContain(NEW);
    const secret = await tenantsSecret();
    expect(decoded(secret, `tenant-${NEW}.conf`)).toContain(`tenant=${NEW}`);
    const agent = await tokenValue(NEW, 'agent');
    expect(agent).toMatch(new RegExp(`^lk_${NEW}_`));
    expect(decoded(secret, `tokens-${NEW}.conf`)).toContain(`token=${agent} ${NEW}:${agent}:write:-:${NEW};`);
  }, 1_200_000);

  it('token create and token revoke change only the token Secret, and only that tenant’s stack', async () => {
    const before = await snapshot();
    await bounded(['token', 'create', INSTANCE, NEW, 'ci', '--scope', 'read', '--expires-in-days', '30', '-c', lookout.configPath], [`tenant:${NEW}`]);
    const created = await snapshot();
    const ci = await tokenValue(NEW, 'ci');
    expect(ci).toMatch(new RegExp(`^lk_${NEW}_`));
    expect(snapshotDiff(before.objects, created.objects)).toEqual({ added: [], changed: [`Secret ${PLATFORM_NS}/${GATEWAY_NAMES.tenantsSecret}`], removed: [] });
    expect(snapshotDiff(before.states, created.states)).toEqual({ added: [], changed: [stackFile(stacks.tenant(NEW))], removed: [] });
    // A read token expiring in 30 days (a ten-digit Unix time), beside the agent's.
    const entries = decoded(await tenantsSecret(), `tokens-${NEW}.conf`)!;
    const expiry = new RegExp(`token=${ci} ${NEW}:${ci}:read:(\\d{10}):${NEW};`).exec(entries);
    expect(expiry, entries.replaceAll(/lk_\w+/g, 'lk_…')).not.toBeNull();
    expect(Number(expiry![1]) * 1000 - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(Number(expiry![1]) * 1000 - Date.now()).toBeLessThan(31 * 86_400_000);
    const agent = await tokenValue(NEW, 'agent');
    expect(entries).toContain(`token=${agent} `);

    await bounded(['token', 'revoke', INSTANCE, NEW, 'ci', '-c', lookout.configPath], [`tenant:${NEW}`]);
    const revoked = await snapshot();
    expect(snapshotDiff(created.objects, revoked.objects)).toEqual({ added: [], changed: [`Secret ${PLATFORM_NS}/${GATEWAY_NAMES.tenantsSecret}`], removed: [] });
    expect(snapshotDiff(created.states, revoked.states)).toEqual({ added: [], changed: [stackFile(stacks.tenant(NEW))], removed: [] });
    const left = decoded(await tenantsSecret(), `tokens-${NEW}.conf`)!;
    expect(left).not.toContain(ci);
    expect(left).toContain(`token=${agent} `);
  }, 1_200_000);

  /** Keys of the tenant's data where the stores put it (src/tenants/delete-data.ts), and their neighbours'. */
  function seededKeys(id: string) {
    const b = lookout.buckets;
    return [
      ...Array.from({ length: BLOCK_OBJECTS }, (_, i) => [b.metrics, `${id}/01JBLOCK${String(Math.floor(i / 500)).padStart(4, '0')}/chunks/${String(i).padStart(6, '0')}`] as const),
      [b.metrics, `${id}/01JBLOCKMETA/meta.json`],
      [b.rules, `rules/${id}/bmFtZXNwYWNl/Z3JvdXA`],
      [b.rules, `alerts/${id}`],
      [b.rules, `alertmanager/${id}/fullstate`],
      [b.logs, `data/${id}/ZmFrZS1jaHVuaw`],
      [b.logs, `data/tsdb_index/index_20400/${id}/1700000000-ingester-1.tsdb.gz`],
      [b.logs, `rules/${id}/cnVsZXM`],
    ] as Array<readonly [string, string]>;
  }
  function neighbourKeys() {
    const b = lookout.buckets;
    return [
      [b.metrics, 'acme/01JACMEBLOCK/meta.json'],
      [b.metrics, `${NEW}x/01JOTHER/meta.json`],
      [b.rules, 'rules/acme/bmFtZXNwYWNl/Z3JvdXA'],
      [b.rules, `alerts/${NEW}x`],
      [b.logs, 'data/acme/ZmFrZS1jaHVuaw'],
      [b.logs, 'data/tsdb_index/index_20400/acme/1700000000-ingester-1.tsdb.gz'],
      [b.logs, `data/tsdb_index/index_20400/${NEW}x/1700000000-ingester-1.tsdb.gz`],
    ] as Array<readonly [string, string]>;
  }
  async function put(keys: ReadonlyArray<readonly [string, string]>): Promise<void> {
    const queue = [...keys];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await lookout.s3.client.send(new PutObjectCommand({ Bucket: next[0], Key: next[1], Body: 'x' }));
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  }
  async function keysIn(bucket: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await lookout.s3.client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }
  const present = async (keys: ReadonlyArray<readonly [string, string]>) => {
    const byBucket = new Map<string, Set<string>>();
    for (const bucket of Object.values(lookout.buckets)) byBucket.set(bucket, new Set(await keysIn(bucket)));
    return keys.filter(([bucket, key]) => byBucket.get(bucket)!.has(key));
  };

  it('tenant remove --delete-data, killed mid-deletion, resumes: that tenant’s objects and data are gone, nothing else changed', async () => {
    const ours = seededKeys(NEW);
    const theirs = neighbourKeys();
    await put([...ours, ...theirs]);
    const before = await snapshot();

    const remove = (killWhen?: (e: LookoutEvent) => boolean) => cli(['tenant', 'remove', INSTANCE, NEW, '--delete-data', '-c', lookout.configPath], killWhen ? { killWhen } : {});
    const killed = await remove((e) => e.type === 'step-progress' && e.step === `tenant-delete-data:${NEW}`);
    expect(killed.killed, describeRun(killed)).toBe(true);
    const leftAfterKill = await present(ours);
    expect(leftAfterKill.length, 'the kill came after the deletion had finished').toBeGreaterThan(0);
    expect(leftAfterKill.length).toBeLessThan(ours.length);

    const run = await remove();
    expect(run.code, describeRun(run)).toBe(0);
    expect(await present(ours)).toEqual([]);
    expect(await present(theirs)).toEqual(theirs);
    // The report names each place it deleted from and how much; the resumed run deletes what the kill left.
    const reports = run.events.filter((e): e is Extract<LookoutEvent, { type: 'log' }> => e.type === 'log' && /deleted \d+ objects under/.test(e.message)).map((e) => e.message);
    const url = (bucket: string, prefix: string) => `${lookout.s3.endpoint}/${bucket}/${prefix}`;
    const left = (bucket: string, prefix: string) => leftAfterKill.filter(([b, k]) => b === bucket && k.startsWith(prefix)).length;
    const b = lookout.buckets;
    expect(reports.sort()).toEqual(
      [
        `metric blocks: deleted ${left(b.metrics, `${NEW}/`)} objects under ${url(b.metrics, `${NEW}/`)}`,
        `metric rule groups: deleted 1 objects under ${url(b.rules, `rules/${NEW}/`)}`,
        `Alertmanager config: deleted 1 objects under ${url(b.rules, `alerts/${NEW}`)}`,
        `Alertmanager state: deleted 1 objects under ${url(b.rules, `alertmanager/${NEW}/`)}`,
        `log chunks: deleted 1 objects under ${url(b.logs, `data/${NEW}/`)}`,
        `log index: deleted 1 objects under ${url(b.logs, 'data/tsdb_index/')}`,
        `log rule groups: deleted 1 objects under ${url(b.logs, `rules/${NEW}/`)}`,
      ].sort(),
    );

    // The API server: the tenant's objects gone, the token Secret and the limits changed, the rest untouched.
    const after = await snapshot();
    const objects = snapshotDiff(before.objects, after.objects);
    expect(objects.added).toEqual([]);
    expect(objects.changed).toEqual(SHARED_BY_TENANTS);
    expect(objects.removed.length).toBeGreaterThan(5);
    for (const o of objects.removed) expect(o).toMatch(new RegExp(`^(Namespace tenant-${NEW}|\\w+ tenant-${NEW}/)`));
    expect(snapshotDiff(before.states, after.states)).toEqual({ added: [], changed: [stackFile(stacks.platform), stackFile(stacks.tenant(NEW))], removed: [] });
    const secret = await tenantsSecret();
    expect(Object.keys(secret).filter((k) => k.includes(NEW))).toEqual([]);
    expect(Object.keys(secret)).toEqual(expect.arrayContaining(TENANTS.map((t) => `tokens-${t}.conf`)));
    const cortex = await lookout.cluster.kube.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${PLATFORM_NS}/configmaps/${CORTEX_RUNTIME}`);
    expect(JSON.stringify(cortex.data)).not.toContain(NEW);
  }, 1_800_000);
});
