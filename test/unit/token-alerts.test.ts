import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { expiringTokens, renderTokenAlertGroup } from '../../src/tenants/token-alerts.js';
import { findExecutable } from '../support/processes.js';

const promtool = findExecutable('promtool');
if (!promtool) console.warn('[skipped] promtool check of token alerts: promtool is not installed (apt-get install prometheus)');

const config = parseConfigText(
  ['aws:', '  region: eu-west-1', '  apiAllowedCidrs: [203.0.113.0/24]', 'dns:', '  domain: obs.example.com', 'tenants:', '  - name: pay', '    tokens: [forever, { name: ci, scope: write, expiresInDays: 30 }]', '  - name: ops'].join('\n') + '\n',
  'f.yaml',
  { provider: 'aws', name: 'prod' },
);

describe('system tenant alerts for expiring tokens', () => {
  it('has one rule per token with an expiry, counted from its creation', () => {
    const tokens = expiringTokens(config.tenants, (t) => (t === 'pay' ? { ci: '2026-12-01T00:00:00Z', forever: '2026-01-01T00:00:00Z' } : undefined));
    expect(tokens).toEqual([{ tenant: 'pay', token: 'ci', expiresAt: Date.parse('2026-12-31T00:00:00Z') / 1000 }]);
    const group = YAML.parse(renderTokenAlertGroup(tokens)!);
    expect(group.rules).toHaveLength(1);
    expect(group.rules[0]).toMatchObject({ alert: 'TenantTokenExpiringSoon', labels: { tenant: 'pay', token: 'ci' } });
    expect(group.rules[0].expr).toBe(`vector(${Date.parse('2026-12-31T00:00:00Z') / 1000}) - time() < 14 * 86400`);
    expect(renderTokenAlertGroup([])).toBeUndefined();
  });

  it.skipIf(!promtool)('passes promtool check rules and fires only within 14 days of expiry (promtool test rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-token-alerts-'));
    try {
      // Expiry at t = 20 days from the test's epoch: quiet at day 5, firing at day 7 and after.
      const group = YAML.parse(renderTokenAlertGroup([{ tenant: 'pay', token: 'ci', expiresAt: 20 * 86400 }])!);
      writeFileSync(join(dir, 'rules.yaml'), YAML.stringify({ groups: [group] }));
      execFileSync(promtool!, ['check', 'rules', join(dir, 'rules.yaml')]);
      const firing = [{ exp_labels: { alertname: 'TenantTokenExpiringSoon', severity: 'warning', tenant: 'pay', token: 'ci' }, exp_annotations: group.rules[0].annotations }];
      writeFileSync(
        join(dir, 'test.yaml'),
        YAML.stringify({
          rule_files: ['rules.yaml'],
          evaluation_interval: '1h',
          tests: [{ interval: '1h', input_series: [], alert_rule_test: [
            { eval_time: '5d', alertname: 'TenantTokenExpiringSoon', exp_alerts: [] },
            { eval_time: '7d', alertname: 'TenantTokenExpiringSoon', exp_alerts: firing },
            { eval_time: '25d', alertname: 'TenantTokenExpiringSoon', exp_alerts: firing },
          ] }],
        }),
      );
      execFileSync(promtool!, ['test', 'rules', join(dir, 'test.yaml')], { cwd: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
