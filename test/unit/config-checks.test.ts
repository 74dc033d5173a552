/**
 * One verdict before the cloud: `config validate`, `plan` and `create` run the same checks
 * (the schema, then checkBeforeCloud), so a config that fails in a later step after the
 * infrastructure exists cannot pass any of them. Each case runs the real CLI three times; for
 * `create`, nothing may have been written for the instance.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBeforeCloud } from '../../src/config/checks.js';
import { ConfigError } from '../../src/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import { selfSignedCertificate } from '../support/self-signed.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'lookout-checks-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const AWS = 'aws:\n  region: eu-west-1\n  apiAllowedCidrs: [203.0.113.0/24]\n';
const DNS = 'dns:\n  domain: obs.example.com\n';
const RFC2136 = (over: Record<string, string>) => {
  const fields = { server: '192.0.2.53', zone: 'obs.example.com', keyName: 'lookout-key', keySecretEnv: 'LOOKOUT_TEST_TSIG', ...over };
  return `tls:\n  rfc2136:\n${Object.entries(fields).map(([k, v]) => `    ${k}: ${v}\n`).join('')}`;
};
const ENV = { LOOKOUT_TEST_TSIG: Buffer.from('a TSIG secret of 32 bytes, or so').toString('base64') };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lookout(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const merged: Record<string, string | undefined> = {
    ...process.env,
    LOOKOUT_HOME: home,
    LOOKOUT_PASSPHRASE: 'checks before the cloud, a passphrase',
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    LOOKOUT_TEST_TSIG: undefined,
    ...env,
  };
  const finalEnv = Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repo, 'bin/lookout'), ...args], { env: finalEnv }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let counter = 0;
function configFile(text: string): string {
  const file = join(home, `config-${++counter}.yaml`);
  writeFileSync(file, text);
  return file;
}

const cases: Array<{ what: string; text: string; env?: Record<string, string>; field: string; message: RegExp }> = [
  {
    what: 'tls.caBundleFile pointing nowhere',
    text: `${AWS}${DNS}tls:\n  caBundleFile: /nonexistent/ca.pem\n`,
    field: 'tls.caBundleFile',
    message: /cannot read "\/nonexistent\/ca\.pem": no such file/,
  },
  {
    what: 'tls.caBundleFile that holds no certificate',
    text: `${AWS}${DNS}tls:\n  caBundleFile: ${join(repo, 'README.md')}\n`,
    field: 'tls.caBundleFile',
    message: /holds no PEM certificate/,
  },
  {
    what: 'tls.rfc2136.server with a newline in it',
    text: `${AWS}${DNS}${RFC2136({ server: '"ns1.example.com\\nupdate add evil.example.com 60 A 192.0.2.1"' })}`,
    env: ENV,
    field: 'tls.rfc2136.server',
    message: /must be a host name or an IP address/,
  },
  {
    what: 'tls.rfc2136.zone that is not a DNS name',
    text: `${AWS}${DNS}${RFC2136({ zone: '"obs example com"' })}`,
    env: ENV,
    field: 'tls.rfc2136.zone',
    message: /must be a DNS name/,
  },
  {
    what: 'tls.rfc2136.zone that does not hold the challenge records',
    text: `${AWS}${DNS}${RFC2136({ zone: 'other.example.org' })}`,
    env: ENV,
    field: 'tls.rfc2136.zone',
    message: /must contain _acme-challenge\.obs\.example\.com/,
  },
  {
    what: 'tls.rfc2136.keyName that is not a key name',
    text: `${AWS}${DNS}${RFC2136({ keyName: '"key\\"; allow-update { any; }; \\""' })}`,
    env: ENV,
    field: 'tls.rfc2136.keyName',
    message: /must be a TSIG key name/,
  },
  {
    what: 'an unknown bundle',
    text: `${AWS}${DNS}bundle: 2099.1.0\n`,
    field: 'bundle',
    message: /must be a bundle this lookout ships \(2026\.11\.0, 2026\.12\.0\)/,
  },
  {
    what: 'the TSIG secret not in the environment',
    text: `${AWS}${DNS}${RFC2136({})}`,
    field: 'tls.rfc2136.keySecretEnv',
    message: /the environment variable LOOKOUT_TEST_TSIG it names is not set/,
  },
  {
    what: 'a TSIG secret that is not base64',
    text: `${AWS}${DNS}${RFC2136({})}`,
    env: { LOOKOUT_TEST_TSIG: 'not base64!' },
    field: 'tls.rfc2136.keySecretEnv',
    message: /does not hold the TSIG secret in base64/,
  },
  {
    what: '0.0.0.0/0 without the opt-in',
    text: `aws:\n  region: eu-west-1\n  apiAllowedCidrs: [0.0.0.0/0]\n${DNS}`,
    field: 'aws.apiAllowedCidrs[0]',
    message: /opens the Kubernetes API endpoint to the whole internet; .* set aws\.allowApiFromAnywhere: true/,
  },
];

describe.each(cases)('$what', ({ text, env, field, message }) => {
  const file = configFile(text);
  const secretEnvCase = field.endsWith('Env');

  it('is refused by config validate (exit 2, the field named)', async () => {
    const r = await lookout(['config', 'validate', 'aws', 'checks', '-c', file], env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${field}: `);
    expect(r.stderr).toMatch(message);
  });

  it(secretEnvCase ? 'is a warning in plan, which needs no secrets' : 'is refused by plan', async () => {
    const r = await lookout(['plan', 'aws', 'checks', '-c', file, '--json'], env);
    if (secretEnvCase) {
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { warnings: string[] };
      expect(result.warnings.join('\n')).toMatch(message);
    } else {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('is refused by create before anything is written for the instance', async () => {
    const instance = `checks${counter}x${cases.findIndex((c) => c.text === text)}`;
    const r = await lookout(['create', 'aws', instance, '-c', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${field}: `);
    expect(existsSync(join(home, instance))).toBe(false);
  });
});

describe('what passes, with a warning', () => {
  it('0.0.0.0/0 with aws.allowApiFromAnywhere: valid, and every command says the API is open to the internet', async () => {
    const file = configFile(`aws:\n  region: eu-west-1\n  apiAllowedCidrs: [0.0.0.0/0]\n  allowApiFromAnywhere: true\n${DNS}`);
    const r = await lookout(['config', 'validate', 'aws', 'checks', '-c', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: aws\.apiAllowedCidrs has 0\.0\.0\.0\/0 \(allowed by aws\.allowApiFromAnywhere\): the Kubernetes API endpoint is reachable from the whole internet$/m);
  });

  it('a valid CA bundle and RFC 2136 settings with their secret pass', async () => {
    const ca = join(home, 'ca.pem');
    writeFileSync(ca, (await selfSignedCertificate(['ca.example.test'], { isCa: true })).certificatePem);
    const file = configFile(`${AWS}${DNS}${RFC2136({}).replace('tls:\n', `tls:\n  caBundleFile: ${ca}\n`)}`);
    const r = await lookout(['config', 'validate', 'aws', 'checks', '-c', file], ENV);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('an IPv6 CIDR gets exactly one error, saying why', () => {
    const text = `aws:\n  region: eu-west-1\n  apiAllowedCidrs: [2001:db8::/32]\n${DNS}`;
    const err = (() => {
      try {
        parseConfigText(text, 'x.yaml', { provider: 'aws', name: 'checks' });
      } catch (e) {
        return e;
      }
      return undefined;
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.issues).toEqual([
      {
        path: 'aws.apiAllowedCidrs[0]',
        location: 'x.yaml:3:21',
        message:
          'must be an IPv4 CIDR: Lookout creates an IPv4 cluster, and EKS accepts IPv6 CIDRs only for the endpoint of an IPv6 cluster, found "2001:db8::/32"',
      },
    ]);
  });

  it('checkBeforeCloud lists every problem at once', async () => {
    const config = parseConfigText(`${AWS}${DNS}${RFC2136({}).replace('tls:\n', 'tls:\n  caBundleFile: /nonexistent.pem\n')}`, 'x.yaml', {
      provider: 'aws',
      name: 'checks',
    });
    const err = (await checkBeforeCloud(config, { file: 'x.yaml', purpose: 'apply', env: {} }).catch((e: unknown) => e)) as ConfigError;
    expect(err.issues.map((i) => i.path)).toEqual(['tls.rfc2136.keySecretEnv', 'tls.caBundleFile']);
  });
});
