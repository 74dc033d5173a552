/**
 * Input that is too big, too deep or not a file, through the real CLI: each is refused with
 * exit 2 and a message that says which limit and why, fast. Wall times are printed, not
 * asserted (performance is the benchmark's job); what is asserted is the answer.
 *
 * And what reaches the terminal: YAML errors never quote the line (it may hold a secret), and
 * control or bidirectional characters from the file or its name are shown escaped.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_CONFIG_VALUES } from '../../src/config/yaml-limits.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lookout-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEAD = 'aws:\n  region: eu-west-1\n  apiAllowedCidrs: [203.0.113.0/24]\ndns:\n  domain: demo.example.com\n';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function validate(file: string, label: string): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repo, 'bin/lookout'), 'config', 'validate', 'aws', 'demo', '-c', file],
      { env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const ms = performance.now() - started;
        console.log(`${label}: exit ${err ? (err as { code?: number }).code : 0} in ${Math.round(ms)} ms`);
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, ms });
      },
    );
  });
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const NO_STACK = /^\s+at /m;

describe('too big or too deep', () => {
  it('20,000 tokens in one tenant: more than the gateway Secret can hold', async () => {
    const tokens = Array.from({ length: 20_000 }, (_, i) => `      - t${i}\n`).join('');
    const r = await validate(write('tokens.yaml', `${HEAD}tenants:\n  - name: team\n    tokens:\n${tokens}`), '20,000 tokens');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tenants\[0\]\.tokens: these 20,000 tokens need [\d,]+ bytes in the gateway's shared Kubernetes Secret, which can hold 1,048,576/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  it('3,000 tenants: more than the gateway Secret can hold', async () => {
    const tenants = Array.from({ length: 3_000 }, (_, i) => `  - name: team-${i}\n`).join('');
    const r = await validate(write('tenants.yaml', `${HEAD}tenants:\n${tenants}`), '3,000 tenants');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tenants: these 3,000 tenants and their tokens need [\d,]+ bytes/);
  });

  it.each([
    ['flow sequences', `${HEAD}x: ${'['.repeat(2_000)}${']'.repeat(2_000)}\n`],
    ['flow mappings', `${HEAD}x: ${'{a: '.repeat(2_000)}1${'}'.repeat(2_000)}\n`],
    ['block sequences', `${HEAD}x:\n  ${'- '.repeat(2_000)}1\n`],
    ['block mappings', `${HEAD}x:\n${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 1)}k${i}:\n`).join('')}`],
  ])('nesting 2,000 deep (%s) is refused before parsing, without a crash', async (label, text) => {
    const r = await validate(write(`deep-${label.replace(' ', '-')}.yaml`, text), `2,000-deep ${label}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the file nests collections more than 64 levels deep/);
    expect(r.stderr).not.toMatch(/call stack|RangeError/);
  });

  it('80,000 keys: more values than any config has, refused in one linear pass', async () => {
    const keys = Array.from({ length: 80_000 }, (_, i) => `  k${i}: 1\n`).join('');
    const r = await validate(write('keys80k.yaml', `${HEAD}x:\n${keys}`), '80,000 keys');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the file holds more than ${MAX_CONFIG_VALUES.toLocaleString('en-US')} values`);
  });

  it('20,000 keys with a duplicate at the end: the duplicate is found and named (linear check)', async () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `  k${i}: 1\n`).join('');
    const r = await validate(write('keys20k.yaml', `${HEAD}x:\n${keys}  k17: 2\n`), '20,000 keys, one duplicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/:20007:3 {2}x\.k17: duplicate key "k17"/);
  });

  it('2.5 million CIDRs: the file is refused by its size before it is read', async () => {
    const cidrs = '10.0.0.0/8,'.repeat(2_500_000);
    const r = await validate(write('cidrs.yaml', `${HEAD.replace('[203.0.113.0/24]', `[${cidrs}10.0.0.0/8]`)}`), '2.5 million CIDRs');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/-c\/--config: it is 26\.\d MiB, and at most 1 MiB is accepted/);
  });

  it('41 CIDRs: more than EKS accepts', async () => {
    const cidrs = Array.from({ length: 41 }, (_, i) => `10.${i}.0.0/16`).join(', ');
    const r = await validate(write('cidrs41.yaml', HEAD.replace('[203.0.113.0/24]', `[${cidrs}]`)), '41 CIDRs');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('aws.apiAllowedCidrs: must have at most 40 CIDRs (an EKS limit that cannot be raised)');
  });
});

describe('not a regular file', () => {
  it('a FIFO is refused at once instead of waiting for a writer', async () => {
    const fifo = join(dir, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await validate(fifo, 'FIFO');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('it is a named pipe (FIFO), not a regular file');
  });

  it.each([
    ['a directory', () => dir, 'it is a directory, not a file'],
    ['a device', () => '/dev/zero', 'it is a device, not a regular file'],
  ])('%s is refused', async (label, path, message) => {
    const r = await validate(path(), label);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('a file that is not UTF-8 is refused', async () => {
    const file = join(dir, 'latin1.yaml');
    writeFileSync(file, Buffer.concat([Buffer.from(HEAD), Buffer.from([0x78, 0x3a, 0x20, 0xe9, 0x0a])]));
    const r = await validate(file, 'not UTF-8');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('it is not UTF-8 text');
  });
});

describe('what reaches the terminal', () => {
  it.each([
    ['an unterminated quote', `${HEAD}tls:\n  email: "ops@example.com\n  rfc2136: { keySecretEnv: sk_live_s3cr3t }\n`],
    ['a tab used for indentation', `${HEAD}tls:\n\temail: sk_live_s3cr3t\n`],
    ['an unknown tag', `${HEAD}tls:\n  email: !sk_live_s3cr3t ops@example.com\n`],
    ['a bad escape in double quotes', `${HEAD}tls:\n  email: "sk_live_s3cr3t\\q"\n`],
    ['a flow collection not closed', `${HEAD}tls: { email: sk_live_s3cr3t\n`],
  ])('a YAML error (%s) gives its place, never the text', async (label, text) => {
    const r = await validate(write(`yaml-${label.replace(/\W+/g, '-')}.yaml`, text), `YAML error: ${label}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/:\d+:\d+ {2}\(root\): invalid YAML: /);
    expect(r.stdout + r.stderr).not.toContain('s3cr3t');
  });

  it('control and bidirectional characters in the file name and its values are shown escaped', async () => {
    const name = join(dir, 'evil\u202e\u001b[2Jlmay.yaml');
    writeFileSync(name, HEAD.replace('demo.example.com', '"demo\u202e\u001b]0;pwned\u0007.example.com"'));
    const r = await validate(name, 'escapes');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('dns.domain');
    expect(r.stderr).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(r.stderr).toContain('evil\\u{202e}\\u{001b}[2Jlmay.yaml');
    // The value is quoted as a JSON string (which escapes C0 controls its own way), the rest here.
    expect(r.stderr).toContain('"demo\\u{202e}\\u001b]0;pwned\\u0007.example.com"');
  });
});
