/// <reference path="../../src/verify/snappyjs.d.ts" />
/**
 * The remote-write encoder: decoded back with an independent protobufjs schema and snappyjs,
 * and compared with a request captured from the real Prometheus (2.42, Debian) encoder:
 * test/fixtures/verify-remote-write-prometheus-2.42.json says how it was captured.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { describe, expect, it } from 'vitest';
import {
  decodeRemoteWriteBody,
  decodeWriteRequest,
  encodeWriteRequest,
  remoteWriteBody,
  remoteWriteHeaders,
  type MetricMetadata,
} from '../../src/verify/remote-write.js';

/**
 * The same messages, written independently as a protobufjs JSON descriptor (field numbers and
 * types from prompb/types.proto and remote.proto), so an error in the module's own schema
 * cannot cancel itself out.
 */
const independent = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: {
          fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 }, metadata: { rule: 'repeated', type: 'MetricMetadata', id: 3 } },
        },
        TimeSeries: { fields: { labels: { rule: 'repeated', type: 'Label', id: 1 }, samples: { rule: 'repeated', type: 'Sample', id: 2 } } },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
        MetricMetadata: {
          fields: {
            type: { type: 'int32', id: 1 },
            metricFamilyName: { type: 'string', id: 2 },
            help: { type: 'string', id: 4 },
            unit: { type: 'string', id: 5 },
          },
        },
      },
    },
  },
}).lookupType('prometheus.WriteRequest');

interface IndependentDecoded {
  timeseries: Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ value: number; timestamp: number }> }>;
  metadata: Array<{ type: number; metricFamilyName: string; help: string; unit: string }>;
}

function decodeIndependently(bytes: Uint8Array): IndependentDecoded {
  return independent.toObject(independent.decode(bytes), { longs: Number, defaults: true, arrays: true }) as IndependentDecoded;
}

interface CapturedRequest {
  path: string;
  headers: Record<string, string>;
  bodyBase64: string;
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/verify-remote-write-prometheus-2.42.json', import.meta.url), 'utf8')) as {
  prometheusVersion: string;
  samples: CapturedRequest;
  metadata: CapturedRequest;
};

describe('remote-write encoding', () => {
  it('encodes a WriteRequest that an independent decoder reads back field by field', () => {
    const now = 1_795_304_087_847;
    const { body, headers } = remoteWriteBody([
      {
        // Deliberately out of order: the spec requires sorted label names.
        labels: { tenant: 'acme', run: '20261101T120000Z-abc123', __name__: 'lookout_verify_probe' },
        samples: [
          { value: 2.5, timestampMs: now },
          { value: -1e-300, timestampMs: now - 1000 },
        ],
      },
      { labels: { __name__: 'other:metric', job: 'x' }, samples: [{ value: Number.NaN, timestampMs: now }] },
    ]);

    const decoded = decodeIndependently(snappy.uncompress(body));
    expect(decoded.timeseries).toHaveLength(2);
    const [probe, other] = decoded.timeseries;
    expect(probe!.labels).toEqual([
      { name: '__name__', value: 'lookout_verify_probe' },
      { name: 'run', value: '20261101T120000Z-abc123' },
      { name: 'tenant', value: 'acme' },
    ]);
    // Samples in timestamp order, int64 milliseconds intact (beyond 2^32).
    expect(probe!.samples).toEqual([
      { value: -1e-300, timestamp: now - 1000 },
      { value: 2.5, timestamp: now },
    ]);
    expect(other!.labels.map((l) => l.name)).toEqual(['__name__', 'job']);
    expect(Number.isNaN(other!.samples[0]!.value)).toBe(true);
    expect(decoded.metadata).toEqual([]);
    expect(headers).toEqual(remoteWriteHeaders());
  });

  it('uses the snappy block format, not the framed one', () => {
    const raw = encodeWriteRequest([{ labels: { __name__: 'up' }, samples: [{ value: 1, timestampMs: 1 }] }]);
    const { body } = remoteWriteBody([{ labels: { __name__: 'up' }, samples: [{ value: 1, timestampMs: 1 }] }]);
    // A framed stream starts with the stream identifier chunk 0xff 06 00 00 "sNaPpY";
    // a block starts with the uncompressed length as a varint.
    expect(body[0]).not.toBe(0xff);
    expect(body[0]).toBe(raw.length);
    expect(Buffer.from(snappy.uncompress(body))).toEqual(Buffer.from(raw));
  });

  it('sends the headers the remote-write 1.0 spec requires', () => {
    expect(remoteWriteHeaders('lookout-verify/0.1.0')).toEqual({
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'User-Agent': 'lookout-verify/0.1.0',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    });
  });

  it('round-trips metadata through its own decoder', () => {
    const metadata: MetricMetadata[] = [
      { type: 'COUNTER', metricFamilyName: 'http_requests_total', help: 'Requests.', unit: '' },
      { type: 'GAUGE', metricFamilyName: 'temperature', help: 'Heat.', unit: 'celsius' },
    ];
    const decoded = decodeWriteRequest(encodeWriteRequest([], metadata));
    expect(decoded.metadata).toEqual(metadata);
    expect(decodeIndependently(encodeWriteRequest([], metadata)).metadata.map((m) => m.type)).toEqual([1, 2]);
  });

  it('refuses series the spec forbids instead of letting the receiver answer 400', () => {
    const at = (labels: Record<string, string>) => () => encodeWriteRequest([{ labels, samples: [{ value: 1, timestampMs: 1 }] }]);
    expect(at({ job: 'x' })).toThrow(/__name__/);
    expect(at({ __name__: '1bad' })).toThrow(/__name__/);
    expect(at({ __name__: 'ok', 'bad-name': 'x' })).toThrow(/invalid label name "bad-name"/);
    expect(at({ __name__: 'ok', job: '' })).toThrow(/empty value/);
    expect(() => encodeWriteRequest([{ labels: { __name__: 'ok' }, samples: [{ value: 1, timestampMs: 1.5 }] }])).toThrow(/not an integer/);
  });
});

describe(`a request captured from Prometheus ${golden.prometheusVersion}`, () => {
  it('carries the same protocol headers as ours', () => {
    const ours = remoteWriteHeaders();
    for (const name of ['Content-Encoding', 'Content-Type', 'X-Prometheus-Remote-Write-Version']) {
      expect(golden.samples.headers[name.toLowerCase()], name).toBe(ours[name]);
    }
    expect(golden.samples.headers['user-agent']).toMatch(/^Prometheus\//);
  });

  it('decodes with our decoder into sorted labels, the __name__ label and int64 timestamps', () => {
    const request = decodeRemoteWriteBody(Buffer.from(golden.samples.bodyBase64, 'base64'));
    expect(request.timeseries.length).toBeGreaterThan(0);
    const names = request.timeseries.map((ts) => ts.labels.find((l) => l.name === '__name__')?.value);
    expect(names).toContain('prometheus_build_info');
    for (const ts of request.timeseries) {
      const labelNames = ts.labels.map((l) => l.name);
      expect(labelNames[0]).toBe('__name__');
      expect(labelNames).toEqual([...labelNames].sort());
      for (const sample of ts.samples) {
        expect(Number.isSafeInteger(sample.timestampMs)).toBe(true);
        // Captured in 2026: milliseconds, not seconds or nanoseconds.
        expect(sample.timestampMs).toBeGreaterThan(Date.UTC(2020, 0, 1));
        expect(sample.timestampMs).toBeLessThan(Date.UTC(2100, 0, 1));
      }
    }
    const build = request.timeseries.find((ts) => ts.labels.some((l) => l.name === '__name__' && l.value === 'prometheus_build_info'))!;
    expect(build.labels.find((l) => l.name === 'version')?.value).toBe(golden.prometheusVersion);
    expect(build.samples[0]!.value).toBe(1);
  });

  it('re-encodes to exactly the bytes Prometheus sent', () => {
    const raw = snappy.uncompress(Buffer.from(golden.samples.bodyBase64, 'base64'));
    const request = decodeWriteRequest(raw);
    const ours = encodeWriteRequest(
      request.timeseries.map((ts) => ({ labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])), samples: ts.samples })),
    );
    expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(raw).toString('hex'));
  });

  it('decodes the metadata request, and re-encodes it to the same bytes', () => {
    const raw = snappy.uncompress(Buffer.from(golden.metadata.bodyBase64, 'base64'));
    const request = decodeWriteRequest(raw);
    expect(request.timeseries).toEqual([]);
    expect(request.metadata.length).toBeGreaterThan(10);
    const failed = request.metadata.find((m) => m.metricFamilyName === 'prometheus_remote_storage_metadata_failed_total');
    expect(failed).toMatchObject({ type: 'COUNTER', unit: '' });
    expect(failed!.help).toMatch(/metadata/);
    expect(request.metadata.map((m) => m.type)).toEqual(expect.arrayContaining(['COUNTER', 'GAUGE', 'HISTOGRAM', 'SUMMARY']));
    expect(Buffer.from(encodeWriteRequest([], request.metadata)).toString('hex')).toBe(Buffer.from(raw).toString('hex'));
  });

  it('is what our own body would look like after snappy: our compressor output decompresses to the same protobuf', () => {
    const raw = snappy.uncompress(Buffer.from(golden.samples.bodyBase64, 'base64'));
    const request = decodeWriteRequest(raw);
    const { body } = remoteWriteBody(
      request.timeseries.map((ts) => ({ labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])), samples: ts.samples })),
    );
    expect(decodeRemoteWriteBody(body)).toEqual(request);
  });
});
