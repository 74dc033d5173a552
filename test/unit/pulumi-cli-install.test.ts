import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PulumiCommand, PulumiCommandOptions } from '@pulumi/pulumi/automation/index.js';
import { describe, expect, it, vi } from 'vitest';
import { FailureError, InterruptedError } from '../../src/errors.js';
import { collectingReporter } from '../../src/progress/events.js';
import {
  MIN_PULUMI_VERSION,
  PINNED_PULUMI_VERSION,
  ensurePulumiCommand,
  type PulumiCommandSource,
} from '../../src/pulumi/cli-install.js';

const sdkVersion = (createRequire(import.meta.url)('@pulumi/pulumi/package.json') as { version: string }).version;
const ROOT = '/home/u/.lookout/pulumi';

function fakeCommand(command: string, version: string): PulumiCommand {
  return { command, version: { toString: () => version } } as unknown as PulumiCommand;
}

/** A source whose get() answers per call site (PATH or install root) and whose install() is scripted. */
function source(o: {
  onPath?: PulumiCommand | Error;
  installed?: PulumiCommand | Error;
  install?: (opts?: PulumiCommandOptions) => Promise<PulumiCommand>;
}) {
  const get = vi.fn(async (opts?: PulumiCommandOptions) => {
    const answer = opts?.root ? o.installed : o.onPath;
    if (!answer || answer instanceof Error) throw answer ?? new Error('spawn pulumi ENOENT');
    return answer;
  });
  const install = vi.fn(o.install ?? (async (_opts?: PulumiCommandOptions) => fakeCommand(`${ROOT}/bin/pulumi`, sdkVersion)));
  return { get, install } satisfies PulumiCommandSource;
}

describe('ensurePulumiCommand', () => {
  it('pins the SDK version read from @pulumi/pulumi/package.json', () => {
    expect(PINNED_PULUMI_VERSION).toBe(sdkVersion);
    expect(PINNED_PULUMI_VERSION).toBe('3.248.0');
  });

  it('uses a pulumi on PATH that is new enough', async () => {
    const onPath = fakeCommand('pulumi', '3.250.1');
    const s = source({ onPath });
    const reporter = collectingReporter();
    await expect(ensurePulumiCommand({ reporter, source: s, installRoot: ROOT })).resolves.toBe(onPath);
    expect(s.get).toHaveBeenCalledTimes(1);
    expect(s.get.mock.calls[0]![0]?.root).toBeUndefined();
    expect(String(s.get.mock.calls[0]![0]?.version)).toBe(MIN_PULUMI_VERSION);
    expect(s.install).not.toHaveBeenCalled();
    expect(reporter.events).toEqual([{ type: 'log', level: 'info', message: 'Using Pulumi CLI 3.250.1 from PATH.' }]);
  });

  it('falls back to an earlier install under the install root when PATH has none or an old one', async () => {
    const installed = fakeCommand(`${ROOT}/bin/pulumi`, sdkVersion);
    const s = source({
      onPath: new Error('Minimum version requirement failed. The minimum CLI version requirement is 3.181.0, your current CLI version is 3.100.0.'),
      installed,
    });
    const reporter = collectingReporter();
    await expect(ensurePulumiCommand({ reporter, source: s, installRoot: ROOT, step: 'infra' })).resolves.toBe(installed);
    expect(s.get).toHaveBeenCalledTimes(2);
    expect(s.get.mock.calls[1]![0]?.root).toBe(ROOT);
    expect(String(s.get.mock.calls[1]![0]?.version)).toBe(sdkVersion);
    expect(s.install).not.toHaveBeenCalled();
    expect(reporter.events).toEqual([{ type: 'step-progress', step: 'infra', message: `Using Pulumi CLI ${sdkVersion} from ${ROOT}.` }]);
  });

  it('installs the pinned version into the install root, reporting why and where', async () => {
    const s = source({});
    const reporter = collectingReporter();
    const cmd = await ensurePulumiCommand({ reporter, source: s, installRoot: ROOT });
    expect(cmd.command).toBe(`${ROOT}/bin/pulumi`);
    expect(s.install).toHaveBeenCalledTimes(1);
    const opts = s.install.mock.calls[0]![0]!;
    expect(opts.root).toBe(ROOT);
    expect(String(opts.version)).toBe(sdkVersion);
    const messages = reporter.events.map((e) => (e.type === 'log' ? e.message : ''));
    expect(messages).toContain(`Installing Pulumi CLI ${sdkVersion} into ${ROOT} (no \`pulumi\` on PATH; one-time download).`);
  });

  it('turns a failed download into a FailureError with a hint', async () => {
    const s = source({
      install: async () => {
        throw new Error('Failed to download https://get.pulumi.com/install.sh: getaddrinfo ENOTFOUND get.pulumi.com');
      },
    });
    const err = await ensurePulumiCommand({ reporter: collectingReporter(), source: s, installRoot: ROOT }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    const f = err as FailureError;
    expect(f.message).toContain(`Could not install the Pulumi CLI ${sdkVersion} into ${ROOT}`);
    expect(f.message).toContain('ENOTFOUND get.pulumi.com');
    expect(f.hint).toContain('Install Pulumi yourself');
    expect(f.hint).toContain('network');
  });

  it('stops waiting for the installer when the signal aborts', async () => {
    let installStarted!: () => void;
    const started = new Promise<void>((r) => (installStarted = r));
    const s = source({
      install: () => {
        installStarted();
        return new Promise<PulumiCommand>(() => {});
      },
    });
    const controller = new AbortController();
    const result = ensurePulumiCommand({ reporter: collectingReporter(), source: s, installRoot: ROOT, signal: controller.signal });
    await started;
    controller.abort();
    await expect(result).rejects.toBeInstanceOf(InterruptedError);
  });

  it('does nothing when the signal has already aborted', async () => {
    const s = source({ onPath: fakeCommand('pulumi', '3.250.0') });
    const controller = new AbortController();
    controller.abort();
    await expect(
      ensurePulumiCommand({ reporter: collectingReporter(), source: s, installRoot: ROOT, signal: controller.signal }),
    ).rejects.toBeInstanceOf(InterruptedError);
    expect(s.get).not.toHaveBeenCalled();
  });
});

describe('ensurePulumiCommand with the real PulumiCommand and stub `pulumi` binaries', () => {
  async function stubPulumi(dir: string, version: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'pulumi');
    await writeFile(file, `#!/bin/sh\necho v${version}\n`);
    await chmod(file, 0o755);
  }

  async function withPath<T>(dirs: string[], fn: () => Promise<T>): Promise<T> {
    const saved = process.env.PATH;
    process.env.PATH = [...dirs, '/usr/bin', '/bin'].join(':');
    try {
      return await fn();
    } finally {
      process.env.PATH = saved;
    }
  }

  it('accepts a new enough pulumi on PATH and otherwise uses the pinned install under the root', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'lookout-pulumi-cli-'));
    try {
      const root = join(tmp, 'install-root');
      await stubPulumi(join(tmp, 'new'), '3.250.0');
      await stubPulumi(join(tmp, 'old'), '3.100.0');
      await stubPulumi(join(root, 'bin'), sdkVersion);

      const fromPath = await withPath([join(tmp, 'new')], () =>
        ensurePulumiCommand({ reporter: collectingReporter(), installRoot: root }),
      );
      expect(fromPath.command).toBe('pulumi');
      expect(String(fromPath.version)).toBe('3.250.0');

      const reporter = collectingReporter();
      const fromRoot = await withPath([join(tmp, 'old')], () => ensurePulumiCommand({ reporter, installRoot: root }));
      expect(fromRoot.command).toBe(join(root, 'bin', 'pulumi'));
      expect(String(fromRoot.version)).toBe(sdkVersion);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
