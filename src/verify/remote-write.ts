/// <reference path="./snappyjs.d.ts" />
/**
 * Prometheus remote-write 1.0: a protobuf `WriteRequest`, snappy block-compressed, posted
 * with the headers the spec requires (https://prometheus.io/docs/specs/remote_write_spec/).
 * Cortex's distributor (`/api/v1/push`) and Prometheus's own receiver (`/api/v1/write`)
 * accept the same body.
 */
import protobuf from 'protobufjs';
import snappy from 'snappyjs';

/**
 * The messages of prometheus/prometheus `prompb/types.proto` and `prompb/remote.proto` that a
 * 1.0 sender uses, with the gogoproto options removed (they only change the Go code generated,
 * not the wire format). Exemplars and native histograms (TimeSeries fields 3 and 4) are left out:
 * the probe never sends them, and decoding skips unknown fields.
 */
const PROMPB = `
syntax = "proto3";
package prometheus;

message WriteRequest {
  repeated TimeSeries timeseries = 1;
  reserved 2;
  repeated MetricMetadata metadata = 3;
}

message MetricMetadata {
  enum MetricType {
    UNKNOWN = 0;
    COUNTER = 1;
    GAUGE = 2;
    HISTOGRAM = 3;
    GAUGEHISTOGRAM = 4;
    SUMMARY = 5;
    INFO = 6;
    STATESET = 7;
  }
  MetricType type = 1;
  string metric_family_name = 2;
  string help = 4;
  string unit = 5;
}

message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
}

message Label {
  string name = 1;
  string value = 2;
}

message Sample {
  double value = 1;
  int64 timestamp = 2;
}
`;

const WriteRequestType = protobuf.parse(PROMPB, { keepCase: false }).root.lookupType('prometheus.WriteRequest');

export const METRIC_TYPES = ['UNKNOWN', 'COUNTER', 'GAUGE', 'HISTOGRAM', 'GAUGEHISTOGRAM', 'SUMMARY', 'INFO', 'STATESET'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

export interface Sample {
  value: number;
  /** Milliseconds since the Unix epoch. */
  timestampMs: number;
}

export interface Label {
  name: string;
  value: string;
}

/** What a caller sends: labels as a record (the metric name under `__name__`). */
export interface SeriesInput {
  labels: Readonly<Record<string, string>>;
  samples: readonly Sample[];
}

export interface MetricMetadata {
  type: MetricType;
  metricFamilyName: string;
  help: string;
  unit: string;
}

/** A decoded request, with labels in wire order so a test can see that they are sorted. */
export interface WriteRequest {
  timeseries: Array<{ labels: Label[]; samples: Sample[] }>;
  metadata: MetricMetadata[];
}

/** The headers the remote-write 1.0 spec requires on every request. */
export function remoteWriteHeaders(userAgent = 'lookout-verify'): Record<string, string> {
  return {
    'Content-Encoding': 'snappy',
    'Content-Type': 'application/x-protobuf',
    'User-Agent': userAgent,
    'X-Prometheus-Remote-Write-Version': '0.1.0',
  };
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The spec's label rules, checked here because a receiver answers a violation with a 400 that
 * would read like a platform fault in the verify report.
 */
function wireLabels(labels: Readonly<Record<string, string>>): Label[] {
  const name = labels.__name__;
  if (name === undefined || !METRIC_NAME.test(name)) {
    throw new RangeError(`remote-write series needs a valid __name__ (got ${JSON.stringify(name)})`);
  }
  const out: Label[] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (key !== '__name__' && !LABEL_NAME.test(key)) throw new RangeError(`invalid label name ${JSON.stringify(key)}`);
    if (value === '') throw new RangeError(`label ${key} has an empty value; leave the label out instead`);
    out.push({ name: key, value });
  }
  // Byte order, as Go sorts strings: label names are ASCII here, so code unit order is the same.
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Proto3 leaves fields at their default value off the wire. protobufjs writes whatever is set,
 * so defaults are left out here: the bytes are then the same as Prometheus's own encoder's.
 */
function withoutDefaults<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== 0 && v !== '' && v !== 'UNKNOWN')) as Partial<T>;
}

/** The protobuf `WriteRequest`, uncompressed. */
export function encodeWriteRequest(series: readonly SeriesInput[], metadata: readonly MetricMetadata[] = []): Uint8Array {
  const message = WriteRequestType.fromObject({
    timeseries: series.map((s) => ({
      labels: wireLabels(s.labels),
      samples: [...s.samples]
        .sort((a, b) => a.timestampMs - b.timestampMs)
        .map((sample) => {
          if (!Number.isSafeInteger(sample.timestampMs)) throw new RangeError(`sample timestamp ${sample.timestampMs} is not an integer of milliseconds`);
          return withoutDefaults({ value: sample.value, timestamp: sample.timestampMs });
        }),
    })),
    metadata: metadata.map((m) => withoutDefaults({ ...m })),
  });
  return WriteRequestType.encode(message).finish();
}

interface DecodedObject {
  timeseries?: Array<{ labels?: Array<{ name?: string; value?: string }>; samples?: Array<{ value?: number; timestamp?: number }> }>;
  metadata?: Array<{ type?: MetricType; metricFamilyName?: string; help?: string; unit?: string }>;
}

/** The inverse of `encodeWriteRequest`, for tests and for a stub receiver. */
export function decodeWriteRequest(bytes: Uint8Array): WriteRequest {
  const object = WriteRequestType.toObject(WriteRequestType.decode(bytes), {
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
  }) as DecodedObject;
  return {
    timeseries: (object.timeseries ?? []).map((ts) => ({
      labels: (ts.labels ?? []).map((l) => ({ name: l.name ?? '', value: l.value ?? '' })),
      samples: (ts.samples ?? []).map((s) => ({ value: s.value ?? 0, timestampMs: s.timestamp ?? 0 })),
    })),
    metadata: (object.metadata ?? []).map((m) => ({
      type: m.type ?? 'UNKNOWN',
      metricFamilyName: m.metricFamilyName ?? '',
      help: m.help ?? '',
      unit: m.unit ?? '',
    })),
  };
}

export interface RemoteWriteBody {
  /** Snappy block-compressed protobuf. */
  body: Uint8Array;
  headers: Record<string, string>;
}

/** A ready-to-send remote-write request body and its headers. */
export function remoteWriteBody(series: readonly SeriesInput[], options: { userAgent?: string } = {}): RemoteWriteBody {
  return { body: snappy.compress(encodeWriteRequest(series)), headers: remoteWriteHeaders(options.userAgent) };
}

/** Uncompresses and decodes a remote-write body; `maxBytes` bounds the uncompressed size. */
export function decodeRemoteWriteBody(body: Uint8Array, maxBytes = 64 * 1024 * 1024): WriteRequest {
  return decodeWriteRequest(snappy.uncompress(body, maxBytes));
}
