/**
 * The corpus of invalid configs, each run through the real CLI in a child process: every one
 * must exit 2, name the field and the problem on stderr, and show no stack trace.
 *
 * Each file under test/fixtures/bad-configs/ starts with comment lines that state what to expect:
 *   # expect-path: aws.availabilityZones        (repeatable; each is paired with the next message)
 *   # expect-message: between 2 and 3           (a part of the message printed for that path)
 *   # expect-location: 8:22                     (optional: line:col of that issue in this file)
 *   # expect-hidden: s3cr3t                     (optional: text that must appear in no output)
 *   # validate-as: gcp                          (optional: the <provider> it is validated for; default aws)
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const corpusDir = 'test/fixtures/bad-configs';
const bin = join(repo, 'bin/lookout');

interface Expectation {
  path: string;
  message: string;
  location?: string;
}

interface Fixture {
  name: string;
  /** Relative to the repository, as a user would type it. */
  file: string;
  /** The <provider> given to `config validate`. */
  provider: string;
  expectations: Expectation[];
  hidden: string[];
}

function readFixture(name: string): Fixture {
  const file = `${corpusDir}/${name}`;
  const fixture: Fixture = { name, file, provider: 'aws', expectations: [], hidden: [] };
  let pendingPath: string | undefined;
  for (const line of readFileSync(join(repo, file), 'utf8').split('\n')) {
    if (!line.startsWith('#')) break;
    const as = /^#\s*validate-as:\s*(\S+)$/.exec(line);
    if (as) fixture.provider = as[1]!;
    const m = /^#\s*expect-(path|message|location|hidden):\s?(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'path') pendingPath = value;
    else if (key === 'message') {
      if (pendingPath === undefined) throw new Error(`${file}: expect-message without an expect-path before it`);
      fixture.expectations.push({ path: pendingPath, message: value });
      pendingPath = undefined;
    } else if (key === 'location') {
      const last = fixture.expectations[fixture.expectations.length - 1];
      if (!last) throw new Error(`${file}: expect-location before any expectation`);
      last.location = value;
    } else fixture.hidden.push(value);
  }
  if (fixture.expectations.length === 0) throw new Error(`${file}: no expect-path/expect-message header`);
  return fixture;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: repo, env: { ...process.env, NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of results. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Builds the CLI. Files of others may not compile while they work on them; ours must. */
function buildCli(): void {
  try {
    execFileSync('npx', ['tsc', '-b'], { cwd: repo, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const output = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
    const ours = output.split('\n').filter((l) => /^src\/(config\/|commands\/config\.ts)/.test(l));
    if (ours.length > 0 || !/error TS/.test(output)) throw new Error(`the CLI does not build:\n${ours.join('\n') || output}`);
  }
  // Never test a stale build: each of our modules must be emitted from its current source.
  for (const [source, built] of [
    ['src/cli.ts', 'dist/src/cli.js'],
    ['src/commands/config.ts', 'dist/src/commands/config.js'],
    ['src/config/load.ts', 'dist/src/config/load.js'],
    ['src/config/issues.ts', 'dist/src/config/issues.js'],
  ] as const) {
    const out = join(repo, built);
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(repo, source)).mtimeMs) {
      throw new Error(`${built} is missing or older than ${source} after \`tsc -b\``);
    }
  }
}

const STACK_LINE = /^\s+at /m;

/** The issue lines of a ConfigError on stderr, by path. */
function issueLines(stderr: string): Array<{ location: string; path: string; message: string }> {
  const lines: Array<{ location: string; path: string; message: string }> = [];
  for (const line of stderr.split('\n')) {
    const m = /^ {2}(\S+?:\d+:\d+) {2}(.+?): (.*)$/.exec(line);
    if (m) lines.push({ location: m[1]!, path: m[2]!, message: m[3]! });
  }
  return lines;
}

function assertReported(fixture: Fixture, run: Run): void {
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).not.toMatch(STACK_LINE);
  expect(run.stderr).toMatch(new RegExp(`^error: ${fixture.file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\d+ problems? in the config$`, 'm'));
  const reported = issueLines(run.stderr);
  for (const e of fixture.expectations) {
    const forPath = reported.filter((r) => r.path === e.path);
    expect(forPath.map((r) => r.message), `${e.path} in:\n${run.stderr}`).toContainEqual(expect.stringContaining(e.message));
    if (e.location) {
      const match = forPath.find((r) => r.message.includes(e.message))!;
      expect(match.location).toBe(`${fixture.file}:${e.location}`);
    }
  }
  for (const secret of fixture.hidden) {
    expect(run.stderr).not.toContain(secret);
    expect(run.stdout).not.toContain(secret);
  }
}

const fixtures = readdirSync(join(repo, corpusDir))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map(readFixture);

/** Fixtures that also go through `plan` and `create`, which must validate before anything else. */
const viaOtherCommands = ['bad-cidr.yaml', 'name-mismatch.yaml', 'yaml-syntax-error.yaml', 'missing-aws.yaml'];

const lookoutHome = join(mkdtempSync(join(tmpdir(), 'lookout-corpus-')), 'home');
const validateRuns = new Map<string, Run>();
const otherRuns = new Map<string, Run>();
const commandLineRuns = new Map<string, Run>();

const commandLineCases: Record<string, string[]> = {
  'unknown provider': ['plan', 'azure', 'demo', '-c', 'x'],
  'bad instance name (plan)': ['plan', 'aws', 'Bad_Name', '-c', 'examples/aws-small.yaml'],
  'bad instance name (create)': ['create', 'aws', 'Bad_Name', '-c', 'examples/aws-small.yaml', '--yes'],
  'bad instance name (config validate)': ['config', 'validate', 'aws', 'Bad_Name', '-c', 'examples/aws-small.yaml'],
  'missing config file': ['config', 'validate', 'aws', 'demo', '-c', `${corpusDir}/does-not-exist.yaml`],
  'valid example': ['config', 'validate', 'aws', 'prod', '-c', 'examples/aws.yaml'],
  'valid example, --json': ['config', 'validate', 'aws', 'demo', '-c', 'examples/aws-small.yaml', '--json'],
  'config schema': ['config', 'schema'],
};

beforeAll(async () => {
  buildCli();
  const jobs: Array<{ key: string; into: Map<string, Run>; args: string[] }> = [
    ...fixtures.map((f) => ({ key: f.name, into: validateRuns, args: ['config', 'validate', f.provider, 'demo', '-c', f.file] })),
    ...viaOtherCommands.flatMap((name) =>
      ['plan', 'create'].map((command) => ({
        key: `${command} ${name}`,
        into: otherRuns,
        // create is given --yes: without a terminal it would be refused for that first.
        args: [command, 'aws', 'demo', '-c', `${corpusDir}/${name}`, ...(command === 'create' ? ['--yes'] : [])],
      })),
    ),
    ...Object.entries(commandLineCases).map(([key, args]) => ({ key, into: commandLineRuns, args })),
  ];
  const runs = await mapLimited(jobs, Math.max(2, availableParallelism()), (job) => runCli(job.args, { LOOKOUT_HOME: lookoutHome }));
  jobs.forEach((job, i) => job.into.set(job.key, runs[i]!));
}, 180_000);

afterAll(() => rmSync(join(lookoutHome, '..'), { recursive: true, force: true }));

describe('bad-configs corpus through `lookout config validate <aws|gcp> demo`', () => {
  it('holds at least 30 configs', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, fixture) => {
    assertReported(fixture, validateRuns.get(fixture.name)!);
  });
});

describe('plan and create validate the config before anything else', () => {
  it.each(viaOtherCommands.flatMap((name) => ['plan', 'create'].map((command) => [command, name] as const)))(
    '%s aws demo -c %s',
    (command, name) => {
      const fixture = fixtures.find((f) => f.name === name)!;
      assertReported(fixture, otherRuns.get(`${command} ${name}`)!);
      // Nothing was written: no state directory, no lock, no journal.
      expect(existsSync(lookoutHome)).toBe(false);
    },
  );
});

describe('command-line input', () => {
  const run = (key: string) => commandLineRuns.get(key)!;

  it('an unknown provider exits 2 and names the <provider> argument', () => {
    const r = run('unknown provider');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'azure' is invalid for argument 'provider'/);
    expect(r.stderr).toMatch(/aws, gcp/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it.each(['plan', 'create', 'config validate'])('a bad instance name exits 2 from %s and names the <name> argument', (command) => {
    const r = run(`bad instance name (${command})`);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error: the <name> argument "Bad_Name" is not a valid instance name: /m);
    expect(r.stderr).toMatch(/^hint: An instance name has 3 to \d+ characters/m);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(existsSync(lookoutHome)).toBe(false);
  });

  it('a missing config file exits 2 and names -c/--config and the path', () => {
    const r = run('missing config file');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot read the config file "${corpusDir}/does-not-exist.yaml" given with -c/--config: no such file`);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('a valid config exits 0 with a summary', () => {
    const r = run('valid example');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^examples\/aws\.yaml is valid\.$/m);
    expect(r.stdout).toMatch(/region\s+eu-west-1/);
    expect(r.stderr).toBe('');
  });

  it('--json prints one result line', () => {
    const r = run('valid example, --json');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'result', valid: true, config: { name: 'demo', provider: 'aws' } });
  });

  it('config schema prints the JSON Schema', () => {
    const r = run('config schema');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'lookout.yaml',
      additionalProperties: false,
    });
  });
});
