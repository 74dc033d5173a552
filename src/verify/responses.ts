/**
 * The parts of the query APIs' answers the probe reads, checked with zod so that a proxy's
 * HTML error page or a changed format reads as "unexpected answer" rather than a crash.
 */
import { z } from 'zod';

const labelSet = z.record(z.string(), z.string());

/** Prometheus HTTP API `/api/v1/query` with an instant vector result. */
const promqlVector = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: labelSet, value: z.tuple([z.number(), z.string()]) })),
  }),
});

/** Loki `/loki/api/v1/query_range` for a log (stream) query; entries may carry metadata after the line. */
const lokiStreams = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('streams'),
    result: z.array(z.object({ stream: labelSet, values: z.array(z.tuple([z.string(), z.string()], z.unknown())) })),
  }),
});

/** Grafana `/api/health`: `{"commit": "…", "database": "ok", "version": "…"}`. */
const grafanaHealth = z.looseObject({ database: z.string(), version: z.string().optional() });

export interface VectorSample {
  labels: Record<string, string>;
  value: number;
}

export interface LogStreamResult {
  labels: Record<string, string>;
  lines: string[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function parseJson<S extends z.ZodType>(schema: S, body: Buffer | string): Parsed<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString());
  } catch {
    return { ok: false, error: 'the answer is not JSON' };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    return { ok: false, error: `unexpected answer: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}` };
  }
  return { ok: true, value: result.data };
}

export function parsePromqlVector(body: Buffer | string): Parsed<VectorSample[]> {
  const parsed = parseJson(promqlVector, body);
  if (!parsed.ok) return parsed;
  // Prometheus formats sample values as strings, including "NaN" and "+Inf", which Number() reads.
  return { ok: true, value: parsed.value.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) })) };
}

export function parseLokiStreams(body: Buffer | string): Parsed<LogStreamResult[]> {
  const parsed = parseJson(lokiStreams, body);
  if (!parsed.ok) return parsed;
  return { ok: true, value: parsed.value.data.result.map((r) => ({ labels: r.stream, lines: r.values.map((v) => v[1]) })) };
}

export function parseGrafanaHealth(body: Buffer | string): Parsed<{ database: string; version?: string }> {
  return parseJson(grafanaHealth, body);
}

/**
 * A string literal for PromQL and LogQL selectors. Both accept Go's double-quoted escapes,
 * of which JSON's are a subset.
 */
export function quoteLabelValue(value: string): string {
  return JSON.stringify(value);
}
