/**
 * The remote-write encoding against the real Prometheus (Debian `prometheus`, started here on
 * loopback with `--web.enable-remote-write-receiver`): what we encode, Prometheus stores and
 * returns through PromQL. Cortex's distributor takes the same request at /api/v1/push.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeClient } from '../../src/verify/client.js';
import { encodeWriteRequest, remoteWriteBody, remoteWriteHeaders } from '../../src/verify/remote-write.js';
import { parsePromqlVector } from '../../src/verify/responses.js';
import { INSTALL_HINT, startPrometheus, type RunningPrometheus } from './verify-helpers.js';
import { findExecutable } from '../support/processes.js';

const PROMETHEUS = findExecutable('prometheus');
const title = `verify probe: remote write into the real Prometheus${PROMETHEUS ? '' : ` (skipped: prometheus is not installed; ${INSTALL_HINT.prometheus})`}`;
if (!PROMETHEUS) console.warn(`SKIPPED: ${title}`);

describe.skipIf(!PROMETHEUS)(title, () => {
  let prometheus: RunningPrometheus;
  let client: ProbeClient;
  const host = '127.0.0.1';

  beforeAll(async () => {
    prometheus = await startPrometheus(PROMETHEUS!);
    client = new ProbeClient({ address: '127.0.0.1', port: prometheus.port, protocol: 'http' });
  });

  afterAll(async () => {
    client?.close();
    await prometheus?.stop();
  });

  async function instantQuery(query: string, timeMs: number): Promise<Array<{ labels: Record<string, string>; value: number }>> {
    const path = `/api/v1/query?${new URLSearchParams({ query, time: (timeMs / 1000).toFixed(3) })}`;
    const res = await client.request({ method: 'GET', host, path });
    expect(res.status, res.body.toString()).toBe(200);
    const parsed = parsePromqlVector(res.body);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  }

  it('stores the probe sample we encode, and PromQL returns it with its labels and exact value', async () => {
    const run = `it-${randomBytes(4).toString('hex')}`;
    const value = 123456.789 + Math.random();
    const now = Date.now();
    const { body, headers } = remoteWriteBody([
      { labels: { tenant: 'acme', __name__: 'lookout_verify_probe', run }, samples: [{ value, timestampMs: now }] },
    ]);
    const res = await client.request({ method: 'POST', host, path: '/api/v1/write', headers, body });
    expect(res.status, res.body.toString()).toBe(204);

    // The receiver appends before it answers; poll anyway, with a deadline, rather than assume it.
    await expect
      .poll(() => instantQuery(`lookout_verify_probe{run="${run}"}`, now), { timeout: 10_000, interval: 100 })
      .toEqual([{ labels: { __name__: 'lookout_verify_probe', run, tenant: 'acme' }, value }]);
  });

  it('takes several series and samples given out of order (the encoder sorts them)', async () => {
    const run = `it-${randomBytes(4).toString('hex')}`;
    const now = Date.now();
    const { body, headers } = remoteWriteBody([
      {
        labels: { __name__: 'lookout_verify_series', run, series: 'a' },
        samples: [
          { value: 3, timestampMs: now },
          { value: 1, timestampMs: now - 2_000 },
          { value: 2, timestampMs: now - 1_000 },
        ],
      },
      { labels: { __name__: 'lookout_verify_series', run, series: 'b' }, samples: [{ value: -7.25, timestampMs: now }] },
    ]);
    const res = await client.request({ method: 'POST', host, path: '/api/v1/write', headers, body });
    expect(res.status, res.body.toString()).toBe(204);

    const count = await instantQuery(`count_over_time(lookout_verify_series{run="${run}", series="a"}[1m])`, now);
    expect(count.map((s) => s.value)).toEqual([3]);
    // Oldest first, as sent in order after sorting: the first sample is 1, the last 3.
    const first = await instantQuery(`lookout_verify_series{run="${run}", series="a"} offset 2s`, now);
    expect(first.map((s) => s.value)).toEqual([1]);
    const latest = await instantQuery(`lookout_verify_series{run="${run}"}`, now);
    expect(latest.map((s) => [s.labels.series, s.value]).sort()).toEqual([
      ['a', 3],
      ['b', -7.25],
    ]);
  });

  it('refuses the same request without snappy, so its 204 above means it decoded our body', async () => {
    const raw = encodeWriteRequest([{ labels: { __name__: 'lookout_verify_probe', run: 'raw' }, samples: [{ value: 1, timestampMs: Date.now() }] }]);
    const res = await client.request({ method: 'POST', host, path: '/api/v1/write', headers: remoteWriteHeaders(), body: raw });
    expect(res.status).toBe(400);
    expect(res.body.toString()).toMatch(/snappy|corrupt|decode/i);
  });
});
