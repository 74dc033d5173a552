import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { printConfigSchema, validateConfigCommand } from '../../src/commands/config.js';
import { closestName } from '../../src/config/issues.js';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { loadConfig, parseConfigText, validateInstanceName } from '../../src/config/load.js';
import { DEFAULT_BUNDLE_VERSION, LETSENCRYPT_PRODUCTION, LETSENCRYPT_STAGING } from '../../src/config/schema.js';
import { tokenSpec } from '../../src/config/tokens.js';
import { ConfigError, UsageError, type ConfigIssue } from '../../src/errors.js';
import { MAX_INSTANCE_NAME_LENGTH, MAX_TENANT_NAME_LENGTH } from '../../src/config/provider-blocks.js';

const repo = new URL('../../', import.meta.url).pathname;
const AWS = 'aws';
const expectDemo = { provider: AWS, name: 'demo' } as const;

/** A valid config, as lines, so tests can insert or replace a line and know its number. */
const validLines = [
  'aws:', //                                    1
  '  region: eu-west-1', //                     2
  '  apiAllowedCidrs: [203.0.113.0/24]', //     3
  'dns:', //                                    4
  '  domain: obs.example.com', //               5
  'tenants:', //                                6
  '  - name: team-a', //                        7
];
const text = (lines: string[]) => lines.join('\n') + '\n';

/** The issues of a config that must fail. */
function issuesOf(source: string, commandLine: { provider: 'aws' | 'gcp'; name: string } = expectDemo): ConfigIssue[] {
  try {
    parseConfigText(source, 'lookout.yaml', commandLine);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('the config was accepted');
}

describe('examples', () => {
  it('examples/aws.yaml loads as the production-like config it describes', async () => {
    const config = await loadConfig(join(repo, 'examples/aws.yaml'), { provider: 'aws', name: 'prod' });
    expect(config.name).toBe('prod');
    expect(config.aws).toMatchObject({ region: 'eu-west-1', availabilityZones: 3, natGateways: 'one-per-az' });
    expect(config.aws?.apiAllowedCidrs).toEqual(['203.0.113.0/24']);
    expect(config.dns.domain).toBe('obs.example.com');
    expect(config.tls.email).toMatch(/@example\.com$/);
    expect(config.tls.acmeDirectory).toBe(LETSENCRYPT_PRODUCTION);
    expect(config.tenants).toHaveLength(2);
    const [a, b] = config.tenants;
    expect(a!.retention.metricsDays).not.toBe(b!.retention.metricsDays);
    expect(a!.limits.activeSeries).not.toBe(b!.limits.activeSeries);
    expect(a!.tokens.length).toBeGreaterThan(0);
  });

  it('examples/aws-small.yaml loads as the small config, with defaults filled in', async () => {
    const config = await loadConfig(join(repo, 'examples/aws-small.yaml'), { provider: 'aws', name: 'demo' });
    expect(config.aws).toMatchObject({ availabilityZones: 2, natGateways: 'single' });
    expect(config.aws?.nodes.desired).toBe(2);
    expect(config.tls.acmeDirectory).toBe(LETSENCRYPT_STAGING);
    expect(config.tenants.map((t) => t.name)).toEqual(['dev']);
    // Left out in the file, so these come from the schema's defaults.
    expect(config.bundle).toBe(DEFAULT_BUNDLE_VERSION);
    expect(config.aws?.kubernetesVersion).toBe('1.34');
    expect(config.tenants[0]!.tokens).toEqual(['default']);
    expect(config.system.retention).toEqual({ metricsDays: 30, logsDays: 14 });
  });

  it('the production example is rejected under another instance name (its file says prod)', async () => {
    await expect(loadConfig(join(repo, 'examples/aws.yaml'), { provider: 'aws', name: 'staging' })).rejects.toThrow(
      /name: expected "staging" \(the <name> given on the command line\), found "prod"/,
    );
  });
});

describe('defaults', () => {
  it('fills every default of a minimal config, and binds name and provider from the command line', () => {
    const config = parseConfigText(text(validLines), 'lookout.yaml', expectDemo);
    expect(config.name).toBe('demo');
    expect(config.provider).toBe('aws');
    expect(config.bundle).toBe(DEFAULT_BUNDLE_VERSION);
    expect(config.aws).toEqual({
      region: 'eu-west-1',
      availabilityZones: 3,
      clusterAdmins: [],
      natGateways: 'one-per-az',
      nodes: { instanceType: 'm7i.xlarge', min: 3, desired: 3, max: 6, diskGiB: 100 },
      kubernetesVersion: '1.34',
      apiAllowedCidrs: ['203.0.113.0/24'],
      allowApiFromAnywhere: false,
    });
    expect(config.dns.delegationTimeoutMinutes).toBe(30);
    expect(config.tls).toEqual({ acmeDirectory: LETSENCRYPT_PRODUCTION });
    expect(config.system.limits).toEqual({ samplesPerSecond: 50_000, activeSeries: 500_000, logsMBPerSecond: 4 });
    expect(config.tenants[0]).toMatchObject({ name: 'team-a', tokens: ['default'], retention: { metricsDays: 30, logsDays: 14 } });
  });

  it('takes tokens as names (scope all, no expiry) or with a scope and an expiry', () => {
    const config = parseConfigText(
      text([...validLines, '    tokens:', '      - prometheus', '      - { name: agent, scope: write, expiresInDays: 90 }', '      - { name: grafana, scope: read }']),
      'lookout.yaml',
      expectDemo,
    );
    const tenant = config.tenants[0]!;
    expect(tenant.tokens).toEqual(['prometheus', { name: 'agent', scope: 'write', expiresInDays: 90 }, { name: 'grafana', scope: 'read' }]);
    expect(tenant.tokens.map(tokenSpec)).toEqual([
      { name: 'prometheus', scope: 'all' },
      { name: 'agent', scope: 'write', expiresInDays: 90 },
      { name: 'grafana', scope: 'read' },
    ]);
  });

  it('accepts a name and provider in the file when they match the command line', () => {
    const config = parseConfigText(text(['name: demo', 'provider: aws', ...validLines]), 'f.yaml', expectDemo);
    expect(config.name).toBe('demo');
  });

  it('follows YAML anchors and merge keys', () => {
    const config = parseConfigText(
      text([
        ...validLines.slice(0, 6),
        '  - name: team-a',
        '    retention: &short { metricsDays: 7, logsDays: 2 }',
        '  - name: team-b',
        '    retention: { <<: *short, logsDays: 5 }',
      ]),
      'f.yaml',
      expectDemo,
    );
    expect(config.tenants[1]!.retention).toEqual({ metricsDays: 7, logsDays: 5 });
  });
});

describe('JSON Schema', () => {
  const schema = configJsonSchema() as Record<string, any>;

  it('is draft 2020-12 with an id, a title and a description', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toEqual(expect.any(String));
    expect(schema.title).toBe('lookout.yaml');
    expect(schema.description).toMatch(/Lookout/);
  });

  it('shows defaults and descriptions, requires dns, and rejects unknown fields at every level', () => {
    expect(schema.required).toEqual(['dns']);
    expect(schema.additionalProperties).toBe(false);
    const aws = schema.properties.aws;
    expect(aws.additionalProperties).toBe(false);
    expect(aws.required).toEqual(expect.arrayContaining(['region', 'apiAllowedCidrs']));
    expect(aws.properties.availabilityZones).toMatchObject({ default: 3, minimum: 2, maximum: 3, type: 'integer' });
    expect(aws.properties.availabilityZones.description).toMatch(/availability zones/);
    expect(aws.properties.natGateways).toMatchObject({ default: 'one-per-az', enum: ['one-per-az', 'single'] });
    expect(aws.properties.nodes.properties.diskGiB.description).toMatch(/Root volume/);
    expect(aws.properties.nodes.additionalProperties).toBe(false);
    expect(schema.properties.bundle.default).toBe(DEFAULT_BUNDLE_VERSION);
    expect(schema.properties.tls.properties.acmeDirectory.default).toBe(LETSENCRYPT_PRODUCTION);
    const tenant = schema.properties.tenants.items;
    expect(tenant.additionalProperties).toBe(false);
    expect(tenant.properties.name.maxLength).toBe(MAX_TENANT_NAME_LENGTH);
    expect(tenant.properties.tokens.default).toEqual(['default']);
    expect(tenant.properties.grafana.properties.oidc.properties.clientSecretEnv.description).toMatch(/never the secret/);
  });

  it('`config schema` prints exactly that schema as JSON', () => {
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      chunks.push(String(chunk));
      return true;
    });
    try {
      printConfigSchema();
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(chunks.join(''))).toEqual(schema);
  });
});

describe('messages', () => {
  it('an out-of-range number states the range and the value, at the value', () => {
    const lines = [...validLines];
    lines.splice(3, 0, '  availabilityZones: 5');
    expect(issuesOf(text(lines))).toEqual([
      { path: 'aws.availabilityZones', message: 'expected an integer between 2 and 3, found 5', location: 'lookout.yaml:4:22' },
    ]);
  });

  it('an enum lists the allowed values', () => {
    const lines = [...validLines];
    lines.splice(2, 0, '  natGateways: per-az');
    expect(issuesOf(text(lines))).toEqual([
      { path: 'aws.natGateways', message: 'expected one of "one-per-az", "single", found "per-az"', location: 'lookout.yaml:3:16' },
    ]);
  });

  it('a bad CIDR names the format with an example', () => {
    const lines = [...validLines];
    lines[2] = '  apiAllowedCidrs: [203.0.113.0/24, 10.0.0.0/33]';
    expect(issuesOf(text(lines))).toEqual([
      {
        path: 'aws.apiAllowedCidrs[1]',
        message: 'expected an IPv4 CIDR such as 10.0.0.0/16, found "10.0.0.0/33"',
        location: 'lookout.yaml:3:37',
      },
    ]);
  });

  it('a missing required field is reported at the mapping it belongs in', () => {
    const lines = validLines.filter((l) => !l.includes('region'));
    expect(issuesOf(text(lines))).toEqual([{ path: 'aws.region', message: 'required field is missing', location: 'lookout.yaml:1:1' }]);
    expect(issuesOf(text(validLines.slice(0, 3)))).toEqual([
      { path: 'dns', message: 'required field is missing', location: 'lookout.yaml:1:1' },
    ]);
  });

  it('an unknown field is reported at its key, with the closest valid name', () => {
    const lines = [...validLines];
    lines.splice(7, 0, '    limits:', '      activeSerie: 1000');
    expect(issuesOf(text(lines))).toEqual([
      {
        path: 'tenants[0].limits.activeSerie',
        message: 'unknown field "activeSerie"; did you mean "activeSeries"?',
        location: 'lookout.yaml:9:7',
      },
    ]);
  });

  it('an unknown field with no close match lists the valid ones', () => {
    const [issue] = issuesOf(text([...validLines, 'colour: blue']));
    expect(issue).toEqual({
      path: 'colour',
      message: 'unknown field "colour"; expected one of: name, provider, bundle, aws, gcp, kubernetes, dns, tls, system, gateway, tenants',
      location: 'lookout.yaml:8:1',
    });
  });

  it("keeps the schema's own wording and adds what was found", () => {
    const lines = [...validLines];
    lines[1] = '  region: eu-west';
    expect(issuesOf(text(lines))).toEqual([
      { path: 'aws.region', message: 'must be an AWS region such as eu-west-1, found "eu-west"', location: 'lookout.yaml:2:11' },
    ]);
  });

  it('a number where text belongs says how to quote it', () => {
    const lines = [...validLines];
    lines.splice(3, 0, '  kubernetesVersion: 1.30');
    expect(issuesOf(text(lines))[0]!.message).toBe(
      'expected a string, found 1.3; write it in quotes ("1.30") so YAML reads it as text',
    );
  });

  it('an empty optional value suggests leaving the line out', () => {
    expect(issuesOf(text([...validLines, 'tls:', '  email:']))).toEqual([
      { path: 'tls.email', message: 'expected a string, found an empty value; remove the line to leave it unset', location: 'lookout.yaml:9:3' },
    ]);
  });

  it('shows collections by kind and truncates long values', () => {
    const long = 'x'.repeat(100);
    const issues = issuesOf(text([...validLines.slice(0, 6), '  name: team-a', `bundle: ${long}`]));
    expect(issues).toEqual([
      { path: 'tenants', message: 'expected a list, found a mapping', location: 'lookout.yaml:6:1' },
      {
        path: 'bundle',
        message: `must be a bundle version such as 2026.11.0, found "${'x'.repeat(60)}…"`,
        location: 'lookout.yaml:8:9',
      },
    ]);
  });

  it('never echoes what was given where an environment variable name belongs', () => {
    const secret = 'Zm9vYmFyLXNlY3JldC12YWx1ZQ';
    const lines = [
      ...validLines,
      '    grafana:',
      '      oidc:',
      '        authUrl: https://login.example.com/authorize',
      '        tokenUrl: https://login.example.com/token',
      '        apiUrl: https://login.example.com/userinfo',
      '        clientId: lookout',
      `        clientSecretEnv: ${secret}`,
    ];
    let message = '';
    try {
      parseConfigText(text(lines), 'lookout.yaml', expectDemo);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('tenants[0].grafana.oidc.clientSecretEnv: must be the name of an environment variable');
    expect(message).toContain('lookout.yaml:14:26');
    expect(message).not.toContain(secret);
  });

  it('reports every problem at once, in file order', () => {
    const source = text([
      'tenant: []', //                              1
      'aws:', //                                    2
      '  region: eu-west-1', //                     3
      '  apiAllowedCidrs: [10.0.0.0/33]', //        4
      '  nodes: { min: 5, desired: 3 }', //         5
      'dns:', //                                    6
      '  domain: Obs.example.com', //               7
      'tls:', //                                    8
      '  acmeDirectory: http://ca.example.com/dir', // 9
      'tenants:', //                                10
      '  - name: system', //                        11
      '  - name: team-a', //                        12
      '    tokens: [ci, ci]', //                    13
      '  - name: team-a', //                        14
    ]);
    expect(issuesOf(source)).toEqual([
      { path: 'tenant', message: 'unknown field "tenant"; did you mean "tenants"?', location: 'lookout.yaml:1:1' },
      {
        path: 'aws.apiAllowedCidrs[0]',
        message: 'expected an IPv4 CIDR such as 10.0.0.0/16, found "10.0.0.0/33"',
        location: 'lookout.yaml:4:21',
      },
      { path: 'aws.nodes.desired', message: 'must be at least min (5), found 3', location: 'lookout.yaml:5:29' },
      {
        path: 'dns.domain',
        message: 'must be a lowercase domain name such as obs.example.com, found "Obs.example.com"',
        location: 'lookout.yaml:7:11',
      },
      { path: 'tls.acmeDirectory', message: 'expected an https:// URL, found "http://ca.example.com/dir"', location: 'lookout.yaml:9:18' },
      {
        path: 'tenants[0].name',
        message: '"system" is reserved for the platform\'s own tenant; configure it under `system` instead',
        location: 'lookout.yaml:11:11',
      },
      { path: 'tenants[1].tokens[1]', message: 'duplicate token name "ci"', location: 'lookout.yaml:13:18' },
      { path: 'tenants[2].name', message: 'duplicate tenant "team-a" (also tenants[1])', location: 'lookout.yaml:14:11' },
    ]);
  });

  it('the error message lists every issue with its location, and hints at the reference', () => {
    const lines = [...validLines];
    lines[1] = '  region: nowhere';
    lines[4] = '  domain: example';
    try {
      parseConfigText(text(lines), 'cfg/lookout.yaml', expectDemo);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.exitCode).toBe(2);
      expect(e.message.split('\n')).toEqual([
        'cfg/lookout.yaml: 2 problems in the config',
        '  cfg/lookout.yaml:2:11  aws.region: must be an AWS region such as eu-west-1, found "nowhere"',
        '  cfg/lookout.yaml:5:11  dns.domain: must be a lowercase domain name such as obs.example.com, found "example"',
      ]);
      expect(e.hint).toMatch(/config schema/);
    }
  });
});

describe('tenants', () => {
  const withTenants = (...names: string[]) => text([...validLines.slice(0, 6), ...names.map((n) => `  - name: ${n}`)]);

  it('rejects the reserved system tenant', () => {
    expect(issuesOf(withTenants('team-a', 'system'))).toEqual([
      {
        path: 'tenants[1].name',
        message: '"system" is reserved for the platform\'s own tenant; configure it under `system` instead',
        location: 'lookout.yaml:8:11',
      },
    ]);
  });

  it('rejects a duplicate tenant, naming the first one', () => {
    expect(issuesOf(withTenants('team-a', 'team-b', 'team-a'))).toEqual([
      { path: 'tenants[2].name', message: 'duplicate tenant "team-a" (also tenants[0])', location: 'lookout.yaml:9:11' },
    ]);
  });

  it('rejects uppercase and underscores', () => {
    for (const name of ['TeamA', 'team_a']) {
      expect(issuesOf(withTenants(name))).toEqual([
        {
          path: 'tenants[0].name',
          message: `must be a DNS label: lowercase letters, digits and inner hyphens, starting with a letter, found "${name}"`,
          location: 'lookout.yaml:7:11',
        },
      ]);
    }
  });

  it('accepts a tenant name of the maximum length and rejects one character more', () => {
    const longest = 't'.repeat(MAX_TENANT_NAME_LENGTH);
    expect(parseConfigText(withTenants(longest), 'f.yaml', expectDemo).tenants[0]!.name).toBe(longest);
    expect(issuesOf(withTenants(`${longest}t`))[0]!.message).toMatch(
      new RegExp(`^expected 1 to ${MAX_TENANT_NAME_LENGTH} characters, found ${MAX_TENANT_NAME_LENGTH + 1} characters: "t+…?"$`),
    );
  });
});

describe('command line cross-checks', () => {
  it('the name in the file must be the <name> argument', () => {
    expect(issuesOf(text(['name: prod', ...validLines]))).toEqual([
      { path: 'name', message: 'expected "demo" (the <name> given on the command line), found "prod"', location: 'lookout.yaml:1:7' },
    ]);
  });

  it('the provider in the file must be the <provider> argument', () => {
    expect(issuesOf(text(['provider: gcp', ...validLines]))).toEqual([
      { path: 'provider', message: 'expected "aws" (the <provider> given on the command line), found "gcp"', location: 'lookout.yaml:1:11' },
    ]);
  });

  it('both mismatches are reported together with other problems', () => {
    const lines = ['name: prod', 'provider: gcp', ...validLines];
    lines[3] = '  region: moon-base-1';
    expect(issuesOf(text(lines)).map((i) => i.path)).toEqual(['name', 'provider', 'aws.region']);
  });

  it('the aws block is required when the provider is aws', () => {
    expect(issuesOf(text(validLines.slice(3)))).toEqual([
      {
        path: 'aws',
        message: 'required field is missing (the provider is aws); it needs at least region and apiAllowedCidrs',
        location: 'lookout.yaml:1:1',
      },
    ]);
  });

  it('an invalid name in the file is reported as invalid, not also as a mismatch', () => {
    const issues = issuesOf(text(['name: Demo', ...validLines]));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/^must start with a lowercase letter.*, found "Demo"$/);
  });
});

describe('instance name on the command line', () => {
  const longest = 'a'.repeat(MAX_INSTANCE_NAME_LENGTH);

  it('accepts the maximum length and typical names', () => {
    for (const name of [longest, 'prod', 'obs-eu-1', 'abc']) expect(() => validateInstanceName(name)).not.toThrow();
  });

  it.each([
    ['one character too long', `${longest}a`, `it has ${MAX_INSTANCE_NAME_LENGTH + 1} characters, and at most ${MAX_INSTANCE_NAME_LENGTH} are allowed`],
    ['an underscore', 'my_prod', 'no `_` or `.`'],
    ['uppercase', 'Prod', 'must start with a lowercase letter'],
    ['a leading digit', '1prod', 'must start with a lowercase letter'],
    ['a trailing hyphen', 'prod-', 'inner hyphens'],
    ['a dot', 'prod.eu', 'no `_` or `.`'],
    ['too short', 'ab', 'it has 2 characters, and at least 3 are needed'],
  ])('rejects %s as a UsageError that names <name>, what is allowed and the maximum', (_what, name, problem) => {
    let error: unknown;
    try {
      validateInstanceName(name);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(error).not.toBeInstanceOf(ConfigError);
    const e = error as UsageError;
    expect(e.message).toContain(`the <name> argument "${name}" is not a valid instance name`);
    expect(e.message).toContain(problem);
    expect(e.hint).toContain(`3 to ${MAX_INSTANCE_NAME_LENGTH} characters`);
    expect(e.hint).toContain('lowercase letters, digits and inner hyphens');
  });

  it('is checked before the file is read', async () => {
    await expect(loadConfig('/nonexistent/lookout.yaml', { provider: 'aws', name: 'Bad_Name' })).rejects.toThrow(/<name> argument/);
  });
});

describe('reading the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing file is a UsageError naming -c/--config and the path', async () => {
    const missing = join(dir, 'missing.yaml');
    const err = await loadConfig(missing, expectDemo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`cannot read the config file ${JSON.stringify(missing)} given with -c/--config: no such file`);
  });

  it('a directory is not a config file', async () => {
    await expect(loadConfig(dir, expectDemo)).rejects.toThrow(/-c\/--config: it is a directory, not a file/);
  });

  it('loads a file from disk and locates issues in it by its given path', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, text(['# comment', ...validLines.map((l) => l.replace('eu-west-1', 'eu-west'))]));
    await expect(loadConfig(file, expectDemo)).rejects.toThrow(`${file}:3:11  aws.region:`);
  });
});

describe('YAML problems', () => {
  it('a duplicate key names the key, at the second occurrence', () => {
    expect(issuesOf(text([...validLines.slice(0, 3), '  region: eu-central-1', ...validLines.slice(3)]))).toEqual([
      { path: 'aws.region', message: 'duplicate key "region": a key may appear only once in a mapping', location: 'lookout.yaml:4:3' },
    ]);
  });

  it('a syntax error is located and stops validation', () => {
    const issues = issuesOf(text(['aws:', '  region: "eu-west-1', ...validLines.slice(2)]));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: '', message: expect.stringMatching(/^invalid YAML: /) });
    expect(issues[0]!.location).toMatch(/^lookout\.yaml:\d+:\d+$/);
  });

  it('an alias to a missing anchor is located', () => {
    expect(issuesOf(text([...validLines, '    retention: *defaults']))).toEqual([
      { path: '', message: 'invalid YAML: an alias (*name) refers to no anchor (&name) defined before it', location: 'lookout.yaml:8:16' },
    ]);
  });

  it('an empty file, or one with only comments, says so', () => {
    for (const source of ['', '# nothing here\n\n']) {
      const [issue] = issuesOf(source);
      expect(issue!.message).toMatch(/^the file is empty: expected a mapping of fields such as `dns:` and `aws:`/);
      expect(issue!.location).toBe('lookout.yaml:1:1');
    }
  });

  it('the top level must be a mapping', () => {
    expect(issuesOf('- a\n- b\n')[0]!.message).toBe('the top level must be a mapping of fields such as `dns:` and `aws:`, found a list of 2 items');
    expect(issuesOf('# c\nlookout\n')).toEqual([
      {
        path: '',
        message: 'the top level must be a mapping of fields such as `dns:` and `aws:`, found "lookout"',
        location: 'lookout.yaml:2:1',
      },
    ]);
  });
});

describe('suggestions', () => {
  it('suggests close names only', () => {
    expect(closestName('tenant', ['dns', 'tenants'])).toBe('tenants');
    expect(closestName('dsn', ['dns', 'tls'])).toBe('dns');
    expect(closestName('api_allowed_cidrs', ['apiAllowedCidrs'])).toBe('apiAllowedCidrs');
    expect(closestName('Region', ['region'])).toBe('region');
    expect(closestName('colour', ['region', 'nodes'])).toBeUndefined();
    expect(closestName('zzz', ['aws'])).toBeUndefined();
  });
});

describe('lookout config validate', () => {
  const output: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    output.length = 0;
  });
  const capture = () =>
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      output.push(String(chunk));
      return true;
    });

  it('prints a summary of the instance', async () => {
    capture();
    await validateConfigCommand({ provider: 'aws', name: 'demo', config: join(repo, 'examples/aws-small.yaml') });
    const printed = output.join('');
    expect(printed).toMatch(/is valid/);
    expect(printed).toMatch(/instance\s+demo/);
    expect(printed).toMatch(/provider\s+aws/);
    expect(printed).toMatch(/region\s+eu-west-1/);
    expect(printed).toMatch(/2 availability zones/);
    expect(printed).toMatch(/tenants\s+dev, system/);
  });

  it('prints one JSON line with --json', async () => {
    capture();
    await validateConfigCommand({ provider: 'aws', name: 'demo', config: join(repo, 'examples/aws-small.yaml'), json: true });
    const lines = output.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]!);
    expect(event).toMatchObject({ type: 'result', valid: true, config: { name: 'demo', provider: 'aws', dns: { domain: 'demo.example.com' } } });
  });

  it('refuses gcp for now, as plan does', async () => {
    await expect(
      validateConfigCommand({ provider: 'gcp', name: 'demo', config: join(repo, 'examples/aws-small.yaml') }),
    ).rejects.toBeInstanceOf(UsageError);
  });
});
