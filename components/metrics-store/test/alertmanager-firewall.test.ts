/**
 * The receivers firewall of the generated config, under the real Cortex Alertmanager: a tenant
 * whose webhook points inside the cluster (here: loopback, where a stand-in for an ingester's
 * `/ingester/shutdown` listens) gets nothing delivered there, while a control tenant whose
 * runtime override turns the firewall off reaches the same endpoint, so the firewall, and not
 * the test, is what stops the first. Storage is Cortex's local alert store; no bucket.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor as pWaitFor } from '../../../src/wait-for.js';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cortexConfig, renderAlertmanagerFallbackConfig } from '../src/config.js';
import { freePort, startProcess, type RunningProcess } from '../../../test/support/processes.js';
import { suiteTitle, testBinaries } from '../../../test/support/test-binaries.js';
import { OPTIONS } from './support.js';

// The build standing in for the Cortex the current bundle pins (v1.19.1; the proxy serves v1.19.0).
const binaries = testBinaries([{ name: 'cortex', version: 'v1.19.0' }]);

const GUARDED = 'guarded';
const CONTROL = 'control';

describe.skipIf(binaries.missing !== undefined)(suiteTitle('the receivers firewall under the real Cortex Alertmanager', binaries), () => {
  let dir: string;
  let internal: http.Server;
  const reached: Array<{ url: string; tenant: string | null }> = [];
  let process: RunningProcess;
  let httpPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-firewall-'));
    // Stands in for a Cortex endpoint inside the cluster that a tenant must never reach.
    internal = http.createServer((req, res) => {
      reached.push({ url: req.url ?? '', tenant: new URL(req.url ?? '/', 'http://x').searchParams.get('tenant') });
      req.resume();
      res.end('shutting down\n');
    });
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
    const target = (tenant: string) => `http://127.0.0.1:${(internal.address() as AddressInfo).port}/ingester/shutdown?tenant=${tenant}`;

    const generated = cortexConfig(OPTIONS);
    httpPort = await freePort();
    const config = {
      auth_enabled: true,
      target: 'alertmanager',
      server: { http_listen_address: '127.0.0.1', http_listen_port: httpPort, grpc_listen_address: '127.0.0.1', grpc_listen_port: await freePort(), log_level: 'info' },
      alertmanager: {
        external_url: OPTIONS.alertmanagerExternalUrl,
        data_dir: join(dir, 'data'),
        enable_api: true,
        sharding_enabled: false,
        // No legacy gossip mesh on 9094 for a single test instance.
        cluster: { listen_address: '' },
        fallback_config_file: join(dir, 'fallback.yaml'),
      },
      alertmanager_storage: { backend: 'local', local: { path: join(dir, 'configs') } },
      // The firewall exactly as the component generates it (the limits need their distributor setting).
      limits: generated.limits,
      distributor: { shard_by_all_labels: generated.distributor.shard_by_all_labels },
      runtime_config: { file: join(dir, 'runtime.yaml'), period: '1s' },
    };
    expect(config.limits.alertmanager_receivers_firewall_block_private_addresses).toBe(true);
    writeFileSync(join(dir, 'cortex.yaml'), YAML.stringify(config, { version: '1.1' }));
    writeFileSync(join(dir, 'fallback.yaml'), renderAlertmanagerFallbackConfig());
    // The control tenant alone has the firewall off, as a runtime override could do.
    writeFileSync(
      join(dir, 'runtime.yaml'),
      YAML.stringify({ overrides: { [CONTROL]: { alertmanager_receivers_firewall_block_private_addresses: false, alertmanager_receivers_firewall_block_cidr_networks: '' } } }),
    );
    const tenantConfig = (tenant: string) =>
      YAML.stringify({
        route: { receiver: 'internal', group_wait: '0s', group_interval: '1s', repeat_interval: '1h' },
        receivers: [{ name: 'internal', webhook_configs: [{ url: target(tenant), send_resolved: false }] }],
      });
    const configs = join(dir, 'configs');
    mkdirSync(configs);
    writeFileSync(join(configs, `${GUARDED}.yaml`), tenantConfig(GUARDED));
    writeFileSync(join(configs, `${CONTROL}.yaml`), tenantConfig(CONTROL));

    const base = `http://127.0.0.1:${httpPort}`;
    const statusOf = async (tenant: string) => {
      try {
        return (await fetch(`${base}/alertmanager/api/v2/status`, { headers: { 'X-Scope-OrgID': tenant } })).status;
      } catch {
        return 0;
      }
    };
    process = await startProcess(binaries.paths.cortex!, [`-config.file=${join(dir, 'cortex.yaml')}`], async () => (await statusOf(GUARDED)) === 200 && (await statusOf(CONTROL)) === 200, {
      what: 'cortex alertmanager',
      deadlineMs: 30_000,
    });
  });

  afterAll(async () => {
    await process?.stop();
    await new Promise((resolve) => internal?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a tenant's webhook from reaching an address inside the cluster", async () => {
    const base = `http://127.0.0.1:${httpPort}`;
    for (const tenant of [GUARDED, CONTROL]) {
      const res = await fetch(`${base}/alertmanager/api/v2/alerts`, {
        method: 'POST',
        headers: { 'X-Scope-OrgID': tenant, 'content-type': 'application/json' },
        body: JSON.stringify([{ labels: { alertname: 'FirewallProbe', tenant }, startsAt: new Date().toISOString() }]),
      });
      expect(res.status, await res.text()).toBe(200);
    }
    const failedOf = async (tenant: string) => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('cortex_alertmanager_notifications_failed_total{') && l.includes(`user="${tenant}"`) && l.includes('integration="webhook"'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    };
    // The control tenant's notification arrives: delivery works, and the endpoint is reachable.
    await pWaitFor(() => reached.some((r) => r.tenant === CONTROL), { interval: 100, timeout: { milliseconds: 20_000, message: `no webhook arrived:\n${process.output()}` } });
    // The guarded tenant's was attempted and refused by the firewall (Alertmanager counts the
    // failure when it stops retrying, after its minimum notification timeout of 10 s).
    await pWaitFor(async () => (await failedOf(GUARDED)) >= 1, { interval: 100, timeout: { milliseconds: 20_000, message: `no failed notification recorded:\n${process.output()}` } });
    expect(reached.filter((r) => r.tenant === GUARDED)).toEqual([]);
    expect(process.output()).toMatch(/blocked address/);
  });
});
