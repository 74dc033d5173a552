/**
 * The probe's Loki requests, checked against the formats recorded from the Loki HTTP API
 * reference (test/fixtures/loki-push-api-formats.json). No Loki binary is available on these
 * machines, so the Loki path is proven against the documented format, not a running Loki;
 * the stub that stands in for Loki in the probe tests refuses any body this schema refuses.
 */
import { describe, expect, it } from 'vitest';
import { LOKI_PUSH_HEADERS, lokiPushBody, msToNs } from '../../src/verify/loki-push.js';
import { parseLokiStreams } from '../../src/verify/responses.js';
import { lokiFormats, lokiPushSchema } from './verify-stubs.js';

describe('the recorded Loki formats', () => {
  it('the schema the stub enforces accepts the reference examples', () => {
    expect(lokiPushSchema.safeParse(lokiFormats.push.body).success).toBe(true);
    const withMetadata = { streams: [{ stream: { foo: 'bar2' }, values: lokiFormats.pushWithStructuredMetadata.values }] };
    expect(lokiPushSchema.safeParse(withMetadata).success).toBe(true);
  });

  it('and refuses what Loki refuses or would not read: a numeric timestamp, a misnamed key', () => {
    expect(lokiPushSchema.safeParse({ streams: [{ stream: { a: 'b' }, values: [[1570818238000000000, 'x']] }] }).success).toBe(false);
    expect(lokiPushSchema.safeParse({ streams: [{ labels: { a: 'b' }, values: [['1', 'x']] }] }).success).toBe(false);
    expect(lokiPushSchema.safeParse({ streams: [{ stream: { a: 'b' }, entries: [['1', 'x']] }] }).success).toBe(false);
  });
});

describe('the probe push body', () => {
  it('has the documented shape, method, path and content type', () => {
    const body = lokiPushBody([
      { labels: { job: 'lookout-verify', run: 'r1', tenant: 'acme' }, entries: [{ timestampNs: msToNs(1_795_304_087_847), line: 'hello "world"' }] },
    ]);
    // Through JSON, as it is sent.
    const sent: unknown = JSON.parse(JSON.stringify(body));
    expect(lokiPushSchema.safeParse(sent).success).toBe(true);
    expect(sent).toEqual({ streams: [{ stream: { job: 'lookout-verify', run: 'r1', tenant: 'acme' }, values: [['1795304087847000000', 'hello "world"']] }] });
    expect(LOKI_PUSH_HEADERS).toEqual(lokiFormats.push.headers);
  });

  it('keeps nanosecond timestamps exact, beyond what a Number can hold', () => {
    expect(msToNs(1_795_304_087_847)).toBe(1_795_304_087_847_000_000n);
    const body = lokiPushBody([{ labels: { a: 'b' }, entries: [{ timestampNs: 1_795_304_087_847_123_457n, line: 'x' }] }]);
    // As a Number this would print 1795304087847123500.
    expect(body.streams[0]!.values[0]![0]).toBe('1795304087847123457');
  });
});

describe('reading a query_range answer', () => {
  it('reads the reference example into streams and lines', () => {
    const parsed = parseLokiStreams(JSON.stringify(lokiFormats.queryRange.response));
    expect(parsed).toEqual({
      ok: true,
      value: [{ labels: { filename: '/var/log/myproject.log', job: 'varlogs', level: 'info' }, lines: ['foo', 'bar'] }],
    });
  });

  it('reads entries that carry structured metadata after the line', () => {
    const response = { status: 'success', data: { resultType: 'streams', result: [{ stream: { a: 'b' }, values: [['1', 'line', { trace_id: 'x' }]] }] } };
    expect(parseLokiStreams(JSON.stringify(response))).toEqual({ ok: true, value: [{ labels: { a: 'b' }, lines: ['line'] }] });
  });

  it('says what is wrong with an answer it cannot read', () => {
    expect(parseLokiStreams('<html>502 Bad Gateway</html>')).toEqual({ ok: false, error: 'the answer is not JSON' });
    const matrix = { status: 'success', data: { resultType: 'matrix', result: [] } };
    expect(parseLokiStreams(JSON.stringify(matrix))).toMatchObject({ ok: false, error: expect.stringMatching(/^unexpected answer: data\.resultType/) });
  });
});
