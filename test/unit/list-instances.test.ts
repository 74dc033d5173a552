import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketInstances, renderInstances } from '../../src/commands/list.js';
import { fileStore } from '../../src/pulumi/diy-store.js';
import { testRecord } from '../support/instance-record.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lookout-list-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (command: string, status: string, updatedAt: string) => ({ runId: command, command, status, startedAt: updatedAt, updatedAt, finishedAt: updatedAt, invocations: 1, plan: [], steps: [] });

function writeInstance(base: string, name: string, runs: unknown[] | undefined, extra: Record<string, unknown> = {}) {
  mkdirSync(join(base, name), { recursive: true });
  writeFileSync(join(base, name, 'instance.json'), JSON.stringify(testRecord({ name, ...extra })));
  if (runs) writeFileSync(join(base, name, 'journal.json'), JSON.stringify({ version: 1, instance: name, runs }));
}

function lookout(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [join(root, 'bin/lookout'), ...args], { env: { ...process.env, LOOKOUT_HOME: join(dir, 'home'), NO_COLOR: '1' } }, (err, stdout) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
    ),
  );
}

describe('lookout list', () => {
  it('lists every instance on this machine with its last run and result, as JSON too', async () => {
    writeInstance(join(dir, 'home'), 'prod', [run('create', 'done', '2026-11-01T10:00:00Z'), run('upgrade', 'failed', '2026-12-01T09:30:00Z')]);
    writeInstance(join(dir, 'home'), 'staging', undefined, { region: 'eu-central-1', bundle: '2026.12.0' });
    mkdirSync(join(dir, 'home', 'pulumi'), { recursive: true });
    const json = await lookout(['list', '--json']);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as { instances: Array<Record<string, unknown>> };
    expect(result.instances.map((i) => i.name)).toEqual(['prod', 'staging']);
    expect(result.instances[0]).toMatchObject({ provider: 'aws', region: 'eu-west-1', bundle: '2026.11.0', lastRun: { command: 'upgrade', status: 'failed', at: '2026-12-01T09:30:00Z' } });
    expect(result.instances[1]).toMatchObject({ region: 'eu-central-1', bundle: '2026.12.0' });
    expect(result.instances[1]!.lastRun).toBeUndefined();
    const human = await lookout(['list']);
    expect(human.stdout).toMatch(/prod\s+aws\s+eu-west-1\s+2026\.11\.0\s+2026-11-01\s+upgrade failed 2026-12-01 09:30\s+this machine/);
  });

  it('lists the instances in a state bucket', async () => {
    const bucket = join(dir, 'bucket');
    writeInstance(join(bucket, '.lookout'), 'team-a', [run('create', 'done', '2026-11-02T00:00:00Z')]);
    writeInstance(join(bucket, '.lookout'), 'team-b', [run('destroy', 'running', '2026-11-03T00:00:00Z')]);
    writeFileSync(join(bucket, '.lookout', 'stray.txt'), 'x');
    const list = await bucketInstances(fileStore(bucket), 's3://bucket/lookout');
    expect(list.map((i) => [i.name, i.where, i.lastRun?.command, i.lastRun?.status])).toEqual([
      ['team-a', 's3://bucket/lookout', 'create', 'done'],
      ['team-b', 's3://bucket/lookout', 'destroy', 'running'],
    ]);
    expect(renderInstances([])).toMatch(/No instances known here/);
  });
});
