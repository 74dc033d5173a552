/**
 * Turns zod issues into `ConfigIssue`s a person can act on: the field path, where it is
 * written, what was expected and what was found.
 */
import { distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import type { ConfigIssue } from '../errors.js';
import { describeLength, describeNumber, fieldNamesAt, schemaAt, unwrap } from './schema-introspect.js';
import {
  formatLocation,
  formatPath,
  locateKey,
  locateValue,
  sourceTextAt,
  type FieldPath,
  type Position,
  type YamlSource,
} from './yaml-source.js';

/**
 * Message zod gets from our per-parse error map. Zod only consults that map when the schema
 * gave no message of its own, so this marker tells our wording from the schema's.
 */
const GENERATED = '\u0000lookout:generated';
export const markGeneratedMessages: z.core.$ZodErrorMap = () => GENERATED;
export const isGeneratedMessage = (message: string): boolean => message === GENERATED;

export interface LocatedIssue extends ConfigIssue {
  position?: Position;
}

export interface IssueContext {
  schema: z.core.$ZodType;
  source: YamlSource;
  /** The parsed YAML as plain data, which is what zod saw. */
  data: unknown;
}

const MAX_SHOWN_CHARS = 60;

export function valueAt(data: unknown, path: FieldPath): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/** Fields that name where a secret lives; what the user wrote there may be the secret itself. */
function isSecretField(path: FieldPath): boolean {
  const last = [...path].reverse().find((s): s is string => typeof s === 'string');
  return last !== undefined && /Env$|secret|password|hmac/i.test(last);
}

function quote(text: string): string {
  const shown = text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}…` : text;
  return JSON.stringify(shown);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** What the user wrote, briefly: scalars by value (truncated), collections by kind. */
export function describeFound(value: unknown, path: FieldPath): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    if (isSecretField(path)) return 'a value that is not shown (it may be a secret)';
    return value === '' ? 'an empty string' : quote(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${plural(value.length, 'item')}`;
  if (value instanceof Date) return `the date ${value.toISOString().slice(0, 10)}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** The closest valid name, only when it is close enough to be what the user meant. */
export function closestName(input: string, candidates: readonly string[]): string | undefined {
  const normalize = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  const sameWord = candidates.find((c) => normalize(c) === normalize(input));
  if (sameWord) return sameWord;
  const allowed = input.length <= 4 ? 1 : input.length <= 8 ? 2 : 3;
  let best: { name: string; d: number } | undefined;
  for (const candidate of candidates) {
    const d = isAdjacentSwap(input.toLowerCase(), candidate.toLowerCase()) ? 1 : distance(input.toLowerCase(), candidate.toLowerCase());
    if (d <= allowed && (!best || d < best.d)) best = { name: candidate, d };
  }
  return best?.name;
}

/** `dsn` for `dns`: one transposition, which plain Levenshtein counts as two edits. */
function isAdjacentSwap(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const diffs: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diffs.push(i);
  return diffs.length === 2 && diffs[1] === diffs[0]! + 1 && a[diffs[0]!] === b[diffs[1]!] && a[diffs[1]!] === b[diffs[0]!];
}

function describeExpectedType(expected: string, schema: z.core.$ZodType | undefined): string {
  switch (expected) {
    case 'object':
      return 'a mapping of fields';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
    case 'int':
      return describeNumber(schema) ?? (expected === 'int' ? 'an integer' : 'a number');
    case 'boolean':
      return 'true or false';
    default:
      return `a ${expected}`;
  }
}

function describeFormat(issue: z.core.$ZodIssueInvalidStringFormat, schema: z.core.$ZodType | undefined): string {
  switch (issue.format) {
    case 'cidrv4':
      return 'an IPv4 CIDR such as 10.0.0.0/16';
    case 'cidrv6':
      return 'an IPv6 CIDR such as 2001:db8::/32';
    case 'ipv4':
      return 'an IPv4 address such as 192.0.2.10';
    case 'email':
      return 'an email address such as ops@example.com';
    case 'url': {
      const protocol = schema ? (unwrap(schema)._zod.def as { protocol?: RegExp }).protocol : undefined;
      return protocol?.test('https') && !protocol.test('http') ? 'an https:// URL' : 'a URL';
    }
    case 'regex':
      return `a string matching ${issue.pattern ?? 'the required pattern'}`;
    default:
      return `a valid ${issue.format}`;
  }
}

/** Optional and defaulted fields: `key:` with nothing after it is better left out. */
function emptyValueTip(schema: z.core.$ZodType | undefined): string {
  const optin = schema?._zod.optin;
  if (optin === 'defaulted') return '; remove the line to use the default';
  if (optin === 'optional') return '; remove the line to leave it unset';
  return '';
}

/** Numbers and booleans where text is expected are usually YAML reading `1.30` as 1.3. */
function quoteTip(ctx: IssueContext, path: FieldPath, value: unknown): string {
  if (typeof value !== 'number' && typeof value !== 'boolean') return '';
  const written = sourceTextAt(ctx.source, path) ?? String(value);
  return `; write it in quotes ("${written}") so YAML reads it as text`;
}

function messageFor(issue: z.core.$ZodIssue, ctx: IssueContext): string {
  const path = issue.path as FieldPath;
  const value = valueAt(ctx.data, path);
  const schema = schemaAt(ctx.schema, path);
  const found = describeFound(value, path);
  const generated = issue.message === GENERATED;

  if (issue.code === 'custom') return generated ? `is not valid, found ${found}` : issue.message;
  if (!generated) {
    // The schema's own wording ("must be an AWS region such as eu-west-1") says what is
    // expected; add what was found.
    return isSecretField(path) && typeof value === 'string'
      ? `${issue.message}, found something else (not shown, in case it is the secret itself); ` +
          "put the secret in an environment variable and give the variable's name here"
      : `${issue.message}, found ${found}`;
  }

  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return 'required field is missing';
      return `expected ${describeExpectedType(issue.expected, schema)}, found ${found}` +
        (issue.expected === 'string' ? quoteTip(ctx, path, value) : '') +
        (value === null ? emptyValueTip(schema) : '');
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
      if (issue.origin === 'string' && typeof value === 'string') {
        const allowed = describeLength(schema) ?? bound;
        return `expected ${allowed} characters, found ${plural(value.length, 'character')}` + (value === '' ? '' : `: ${found}`);
      }
      if (issue.origin === 'array' && Array.isArray(value)) {
        const allowed = describeLength(schema) ?? bound;
        return `expected a list of ${allowed} item${/(^|\D)1$/.test(allowed) ? '' : 's'}, found ${found}`;
      }
      return `expected ${describeNumber(schema) ?? `a value of ${bound}`}, found ${found}`;
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => JSON.stringify(v));
      const suggestion = typeof value === 'string' ? closestName(value, issue.values.map(String)) : undefined;
      const expected = values.length === 1 ? values[0]! : `one of ${values.join(', ')}`;
      return `expected ${expected}, found ${found}` + (suggestion ? `; did you mean "${suggestion}"?` : '');
    }
    case 'invalid_format':
      return `expected ${describeFormat(issue, schema)}, found ${found}`;
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}, found ${found}`;
    default:
      return `is not valid, found ${found}`;
  }
}

function unknownFieldMessage(key: string, allowed: readonly string[]): string {
  const suggestion = closestName(key, allowed);
  if (suggestion) return `unknown field ${quote(key)}; did you mean "${suggestion}"?`;
  return allowed.length > 0 ? `unknown field ${quote(key)}; expected one of: ${allowed.join(', ')}` : `unknown field ${quote(key)}`;
}

/** An issue at `path`, located at its value (or, with `atKey`, at its key). */
export function locatedIssue(ctx: Pick<IssueContext, 'source'>, path: FieldPath, message: string, atKey = false): LocatedIssue {
  const position = atKey ? locateKey(ctx.source, path) : locateValue(ctx.source, path);
  return {
    path: formatPath(path),
    message,
    ...(position ? { position, location: formatLocation(ctx.source.file, position) } : {}),
  };
}

export function fromZodIssues(issues: readonly z.core.$ZodIssue[], ctx: IssueContext): LocatedIssue[] {
  return issues.flatMap((issue) => {
    const path = issue.path as Array<string | number>;
    if (issue.code === 'unrecognized_keys') {
      const allowed = fieldNamesAt(ctx.schema, path);
      return issue.keys.map((key) => locatedIssue(ctx, [...path, key], unknownFieldMessage(key, allowed), true));
    }
    return [locatedIssue(ctx, path, messageFor(issue, ctx))];
  });
}

/** In file order, without repeats; issues that could not be located come last. */
export function orderIssues(issues: readonly LocatedIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return [...issues]
    .sort((a, b) => {
      const pa = a.position;
      const pb = b.position;
      if (pa && pb) return pa.line - pb.line || pa.col - pb.col || a.path.localeCompare(b.path);
      if (pa || pb) return pa ? -1 : 1;
      return a.path.localeCompare(b.path);
    })
    .filter((i) => {
      const key = `${i.location}\u0000${i.path}\u0000${i.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map(({ path, message, location }) => (location === undefined ? { path, message } : { path, message, location }));
}
