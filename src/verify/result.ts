/**
 * What each verify check reports, and how a result reads in one line. Results are shown to the
 * user as progress and in the final error, so nothing in them may contain a token.
 */

/** The API (or property) a check proves. */
export type VerifyApi =
  | 'remote-write'
  | 'promql'
  | 'loki-push'
  | 'logql'
  | 'grafana'
  /** This tenant's token on another tenant's host is refused (403). */
  | 'cross-tenant'
  /** No token, or a token the gateway does not know, is refused (401). */
  | 'no-token'
  /** This tenant's queries do not return other tenants' probe data (the stores' X-Scope-OrgID). */
  | 'data-isolation';

export interface VerifyResult {
  tenant: string;
  api: VerifyApi;
  ok: boolean;
  /** The HTTP status the verdict rests on, when there was one. */
  status?: number;
  /** What was sent and what came back: method, URL without query string, status, start of the body. */
  detail: string;
  durationMs: number;
  /** The check did not run, because one it depends on failed (or, when ok, did not apply). */
  skipped?: boolean;
}

const BODY_PREVIEW_CHARS = 200;

/** Replaces every occurrence of each secret, so that an echoing server cannot leak a token into a message. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join('[redacted]');
  }
  return out;
}

/** The start of a response body, on one line, without secrets. */
export function bodyPreview(body: Buffer | string, secrets: readonly (string | undefined)[]): string {
  const text = redact(body.toString('utf8'), secrets).replace(/\s+/g, ' ').trim();
  if (text === '') return '(empty body)';
  return text.length > BODY_PREVIEW_CHARS ? `${text.slice(0, BODY_PREVIEW_CHARS)}…` : text;
}

/** One line for progress output and error messages: `<tenant> <api>: <detail>`. */
export function describeResult(result: VerifyResult): string {
  const verdict = result.ok ? (result.skipped ? 'skipped' : 'ok') : result.skipped ? 'not run' : 'FAILED';
  return `tenant ${result.tenant}, ${result.api}: ${verdict} — ${result.detail}`;
}
