/**
 * The Loki push API's JSON body (`POST /loki/api/v1/push`, `Content-Type: application/json`),
 * as documented in the Loki HTTP API reference ("Ingest logs"):
 * `{"streams":[{"stream":{<labels>},"values":[["<unix epoch in nanoseconds>","<log line>"]]}]}`.
 * Timestamps are strings: Loki answers 400 to a number there.
 */

export interface LogEntry {
  /** Nanoseconds since the Unix epoch. */
  timestampNs: bigint;
  line: string;
}

export interface LogStream {
  labels: Readonly<Record<string, string>>;
  entries: readonly LogEntry[];
}

export interface LokiPushBody {
  streams: Array<{ stream: Record<string, string>; values: Array<[string, string]> }>;
}

export const LOKI_PUSH_HEADERS: Readonly<Record<string, string>> = { 'Content-Type': 'application/json' };

export function lokiPushBody(streams: readonly LogStream[]): LokiPushBody {
  return {
    streams: streams.map((s) => ({
      stream: { ...s.labels },
      values: s.entries.map((e): [string, string] => [e.timestampNs.toString(), e.line]),
    })),
  };
}

/** Milliseconds to the nanosecond strings Loki's API takes. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.trunc(ms)) * 1_000_000n;
}
