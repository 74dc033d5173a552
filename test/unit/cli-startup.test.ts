import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lookout-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function loadedModules(args: string[]): Promise<{ stdout: string; modules: string[] }> {
  const file = join(dir, `modules-${args.join('-').replace(/\W/g, '_')}.txt`);
  const { stdout } = await run(
    process.execPath,
    ['--import', join(root, 'test/fixtures/record-modules.mjs'), join(root, 'bin/lookout'), ...args],
    { env: { ...process.env, LOOKOUT_LOADED_MODULES_FILE: file } },
  );
  return { stdout, modules: readFileSync(file, 'utf8').split('\n').filter(Boolean) };
}

// Google's clients: @google-cloud/*, and the auth client (with its HTTP stack) the GCP provider uses.
const HEAVY = /@pulumi\/|@aws-sdk\/|@google-cloud\/|google-auth-library|gaxios|acme-client|kubernetes-models/;

describe('lookout start-up', () => {
  it('--help lists every command and loads no Pulumi or cloud SDK module', async () => {
    const { stdout, modules } = await loadedModules(['--help']);
    for (const command of ['plan', 'create', 'upgrade', 'destroy', 'status', 'config']) {
      expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
    // The recorder works: the CLI module itself and commander must have been seen.
    expect(modules.some((m) => m.endsWith('/dist/src/cli.js'))).toBe(true);
    expect(modules.some((m) => m.includes('commander'))).toBe(true);
    expect(modules.filter((m) => HEAVY.test(m))).toEqual([]);
  });

  it('--version prints the package version and loads no heavy module', async () => {
    const { stdout, modules } = await loadedModules(['--version']);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(stdout.trim()).toBe(pkg.version);
    expect(modules.filter((m) => HEAVY.test(m))).toEqual([]);
  });

  it('the recorder does see heavy modules when a command needs them (so the checks above can fail)', async () => {
    const { modules } = await loadedModules(['plan', 'aws', 'prod', '-c', join(root, 'examples/aws.yaml'), '--json']);
    expect(modules.some((m) => m.includes('@pulumi/pulumi'))).toBe(true);
    expect(modules.some((m) => m.includes('@pulumi/aws'))).toBe(true);
    const gcp = await loadedModules(['plan', 'gcp', 'prod', '-c', join(root, 'examples/gcp.yaml'), '--json']);
    expect(gcp.modules.some((m) => m.includes('@pulumi/gcp'))).toBe(true);
  });

  it('--help loads neither @pulumi/gcp nor any Google client', async () => {
    const { modules } = await loadedModules(['--help']);
    expect(modules.filter((m) => /@pulumi\/gcp|@google-cloud\/|google-auth-library|gaxios/.test(m))).toEqual([]);
  });

  it('a command help loads no heavy module either', async () => {
    const { stdout, modules } = await loadedModules(['create', '--help']);
    expect(stdout).toContain('--state <url>');
    expect(modules.filter((m) => HEAVY.test(m))).toEqual([]);
  });
});
