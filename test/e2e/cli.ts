/**
 * The real `lookout` binary as the cloud suites drive it: in the suite's own LOOKOUT_HOME, with
 * its passphrase, stderr passed through, and optionally interrupted (SIGINT, as Ctrl-C) once
 * the engine reports a number of infra resources done (needs --json).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

/**
 * One suite's run of the CLI, when `variable` is 1: its own LOOKOUT_HOME (made only when the
 * suite runs, so a skipped one leaves nothing behind), an instance name `e2e-<random>` (short
 * enough for every provider) and a random passphrase. Otherwise it says, by name, why it skips.
 */
export function e2eSuite(cloud: string, variable: string, needs: string) {
  const enabled = process.env[variable] === '1';
  const reason = `skipped: set ${variable}=1, ${needs} (see test/e2e/README.md)`;
  if (!enabled) console.warn(`${cloud} end-to-end suite ${reason}`);
  const home = enabled ? mkdtempSync(join(tmpdir(), `lookout-e2e-${cloud.toLowerCase()}-`)) : join(tmpdir(), 'lookout-e2e-not-run');
  const passphrase = randomBytes(24).toString('base64url');
  return {
    enabled,
    title: `${cloud} end-to-end${enabled ? '' : ` (${reason})`}`,
    home,
    name: `e2e-${randomBytes(3).toString('hex')}`,
    lookout: lookoutCli(home, passphrase),
  };
}

/**
 * Writes `<home>/lookout.yaml`: the provider's block (its lines as given), then what every cloud
 * suite shares: the domain (and a parent zone, when given), the ACME staging directory, tenants.
 */
export function writeSuiteConfig(home: string, providerBlock: string[], tenants: string[], parentZone?: string): string {
  const file = join(home, 'lookout.yaml');
  const lines = [
    ...providerBlock,
    'dns:',
    `  domain: ${process.env.LOOKOUT_E2E_DOMAIN ?? 'e2e.invalid'}`,
    ...(parentZone ? [`  parentZone: ${parentZone}`] : []),
    'tls:',
    '  acmeDirectory: https://acme-staging-v02.api.letsencrypt.org/directory',
    'tenants:',
    ...tenants.map((t) => `  - name: ${t}`),
    '',
  ];
  writeFileSync(file, lines.join('\n'));
  return file;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The last JSON line of a `--json` run: the command's result. */
export function resultOf<T = Record<string, any>>(r: CliResult): T {
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}

export function lookoutCli(home: string, passphrase: string, env: Record<string, string> = {}) {
  return (args: string[], opts: { interruptAtResources?: number } = {}): Promise<CliResult> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [join(root, 'bin/lookout'), ...args], {
        env: { ...process.env, ...env, LOOKOUT_HOME: home, LOOKOUT_PASSPHRASE: passphrase },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
        const at = opts.interruptAtResources;
        if (at === undefined || child.killed) return;
        const done = stdout
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => {
            try {
              return JSON.parse(line) as { type?: string; step?: string; done?: number };
            } catch {
              return {};
            }
          })
          .filter((e) => e.type === 'step-progress' && e.step === 'infra')
          .reduce((max, e) => Math.max(max, e.done ?? 0), 0);
        if (done >= at) child.kill('SIGINT');
      });
      child.stderr.on('data', (d) => {
        stderr += d;
        process.stderr.write(d);
      });
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
}
