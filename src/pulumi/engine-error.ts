/**
 * Turns what the Automation API throws into the CLI's error vocabulary. The message quotes
 * the engine's own error text (from its diagnostic events, else from its output), never just
 * an exit code; an aborted signal becomes InterruptedError; secrets are redacted.
 */
import { FailureError, InterruptedError, LookoutError, UsageError, errorMessage } from '../errors.js';
import { isLockedEngineError, lockedErrorFromEngine, type StackRef } from './locks.js';
import { PASSPHRASE_ENV } from './passphrase.js';
import { isProgramResource, parseUrn } from './deployment.js';

export interface EngineDiagnostic {
  urn?: string;
  message: string;
}

export interface EngineErrorContext {
  /** What was running, as a noun phrase: "update", "preview", "destroy", "refresh". */
  operation: string;
  ref: StackRef;
  signal?: AbortSignal;
  /** Error diagnostics collected from engine events. */
  diagnostics?: readonly EngineDiagnostic[];
  /** Values that must not appear in any message (the passphrase). */
  secrets?: readonly string[];
}

const GENERIC = /^(update|preview|refresh|destroy|import) failed\.?$|^an error occurred/i;

/** The `error: …` lines of Pulumi's output, without the generic "update failed" ones when others exist. */
export function errorLinesFrom(text: string): string[] {
  const lines: string[] = [];
  for (const raw of stripColor(text).split('\n')) {
    // CommandError's text puts the first line of each stream after a ` stderr: ` label.
    const line = raw.replace(/^\s*(?:(?:stdout|stderr|err\?):\s*)+/, '');
    const m = /^\s*error:\s*(.+?)\s*$/.exec(line);
    if (m && !lines.includes(m[1]!)) lines.push(m[1]!);
  }
  const specific = lines.filter((l) => !GENERIC.test(l));
  return specific.length > 0 ? specific : lines;
}

/** Removes ANSI escapes and Pulumi's `<{%…%}>` colour directives. */
export function stripColor(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').replace(/<\{%[^%]*%\}>/g, '');
}

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}

export function engineFailure(err: unknown, ctx: EngineErrorContext): LookoutError {
  const label = `${ctx.ref.project}/${ctx.ref.stack}`;
  if (err instanceof LookoutError) return err;
  if (ctx.signal?.aborted) {
    return new InterruptedError(`Pulumi ${ctx.operation} of stack ${label} was interrupted.`, {
      hint: 'Run the same command again to resume: Lookout first recovers the stack (pending operations and stale locks).',
    });
  }
  const raw = errorMessage(err);
  const text = redact(stripColor(raw), ctx.secrets);

  if (/incorrect passphrase/i.test(text)) {
    return new UsageError(`The passphrase does not match the one stack ${label} was created with.`, {
      hint: `Use the passphrase this instance was created with: set ${PASSPHRASE_ENV}, or type it at the prompt.`,
    });
  }
  if (isLockedEngineError(text)) return lockedErrorFromEngine(text, ctx.ref);

  const fromEvents = (ctx.diagnostics ?? [])
    .map((d) => ({ urn: d.urn, message: redact(stripColor(d.message), ctx.secrets).trim() }))
    .filter((d) => d.message !== '' && !GENERIC.test(d.message))
    .map(formatDiagnostic);
  const lines = fromEvents.length > 0 ? [...new Set(fromEvents)] : errorLinesFrom(text);
  const detail = lines.length > 0 ? lines : [firstMeaningfulLine(text)];
  return new FailureError(`Pulumi ${ctx.operation} of stack ${label} failed:\n${detail.map((l) => `  ${l.replace(/\n/g, '\n    ')}`).join('\n')}`, {
    hint: 'Fix the cause above, then run the same command again: it resumes where it stopped.',
  });
}

function formatDiagnostic(d: EngineDiagnostic): string {
  if (!d.urn || !isProgramResource(d.urn)) return d.message;
  const { type, name } = parseUrn(d.urn);
  return `${type} "${name}": ${d.message}`;
}

/** For errors that carry no `error:` line (the CLI could not start, for example). */
function firstMeaningfulLine(text: string): string {
  const noise = /^(code: -?\d+|stdout:|stderr:|err\?:)\s*$/;
  for (const line of text.split('\n')) {
    const l = line.replace(/^\s*(stderr:|err\?:)\s*/, '').trim();
    if (l !== '' && !noise.test(l) && !/^code: -?\d+$/.test(l)) return l;
  }
  return text.trim() || 'no error text';
}
