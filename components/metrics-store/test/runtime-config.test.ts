import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderRuntimeConfig, runtimeConfig, tenantOverrides, type TenantLimits } from '../src/runtime-config.js';
import { CHECKED_FIELDS } from './support.js';

const system: TenantLimits = { id: 'system', samplesPerSecond: 100_000, activeSeries: 1_000_000, retentionDays: 15 };
const acme: TenantLimits = { id: 'acme', samplesPerSecond: 20_000, burstSamples: 25_000, activeSeries: 300_000, retentionDays: 90 };

describe('runtime config', () => {
  it('maps each tenant’s limits to Cortex overrides, burst defaulting to twice the rate', () => {
    expect(runtimeConfig([system, acme])).toEqual({
      overrides: {
        acme: {
          ingestion_rate: 20_000,
          ingestion_burst_size: 25_000,
          max_global_series_per_user: 300_000,
          compactor_blocks_retention_period: '90d',
        },
        system: {
          ingestion_rate: 100_000,
          ingestion_burst_size: 200_000,
          max_global_series_per_user: 1_000_000,
          compactor_blocks_retention_period: '15d',
        },
      },
    });
  });

  it('sets only limit names checked against Cortex’s Limits struct', () => {
    for (const field of Object.keys(tenantOverrides(acme))) expect(CHECKED_FIELDS.limitsFields).toHaveProperty([field]);
  });

  it('does not depend on the order tenants are listed in', () => {
    const text = renderRuntimeConfig([system, acme]);
    expect(renderRuntimeConfig([acme, system])).toBe(text);
    expect(Object.keys(runtimeConfig([system, acme]).overrides)).toEqual(['acme', 'system']);
  });

  it('renders YAML that round-trips, with tenant IDs that YAML 1.1 would read as booleans quoted', () => {
    const tenants = [system, { ...acme, id: 'no' }, { ...acme, id: 'on' }];
    const text = renderRuntimeConfig(tenants);
    expect(YAML.parse(text, { version: '1.1' })).toEqual(runtimeConfig(tenants));
    expect(text).toContain('"no":');
    expect(text).toContain('"on":');
  });

  it('is empty of overrides for no tenants, which Cortex accepts', () => {
    expect(YAML.parse(renderRuntimeConfig([]))).toEqual({ overrides: {} });
  });

  it.each([
    [[acme, acme], /tenant "acme" is listed twice/],
    [[{ ...acme, id: 'Acme' }], /tenant ID "Acme" must be a DNS label/],
    [[{ ...acme, samplesPerSecond: 0 }], /samplesPerSecond must be a positive integer/],
    [[{ ...acme, burstSamples: 1.5 }], /burstSamples must be a positive integer/],
    [[{ ...acme, activeSeries: -1 }], /activeSeries must be a positive integer/],
    [[{ ...acme, retentionDays: 0 }], /retentionDays must be a positive integer/],
  ])('refuses bad tenants (%#)', (tenants, message) => {
    expect(() => renderRuntimeConfig(tenants)).toThrow(message);
  });
});
