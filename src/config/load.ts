/**
 * Reads `lookout.yaml`, validates it against the schema and the command line, and reports
 * every problem at once, each with its field path, `file:line:col`, and what was expected
 * and found. Nothing downstream ever sees an unvalidated config.
 */
import type { YAMLError } from 'yaml';
import { ConfigError, MAX_REPORTED_ISSUES, UsageError, type ConfigIssue } from '../errors.js';
import { configBlockOf, instanceNameLimit } from './provider-blocks.js';
import { describeFound, fromZodIssues, isGeneratedMessage, locatedIssue, markGeneratedMessages, orderIssues, type IssueContext, type LocatedIssue } from './issues.js';
import { configSchema, instanceNameOfAtMost, type LookoutConfig, type Provider } from './schema.js';
import { FileReadProblem, formatBytes, readBoundedTextFile } from './read-file.js';
import { MAX_CONFIG_BYTES, checkYamlShape, findDuplicateKeys, findUnresolvedAliases, type DuplicateKey } from './yaml-limits.js';
import { formatLocation, formatPath, parseYamlSource, positionOf, type YamlSource } from './yaml-source.js';

/** A validated config, bound to the instance and provider named on the command line. */
export type ResolvedConfig = LookoutConfig & { name: string; provider: Provider };

export interface ConfigExpectation {
  provider: Provider;
  name: string;
}

/** Each provider's commented example config sits at examples/<provider>.yaml. */
const exampleHint = (provider: Provider) => `See examples/${provider}.yaml for a complete, commented config.`;

/**
 * Validates the `<name>` argument; the file's `name:` field is checked against it later. With
 * the provider (`plan`, `create`), every name that provider derives from it must fit too.
 */
export function validateInstanceName(name: string, provider?: Provider): void {
  const limit = instanceNameLimit(provider);
  const result = instanceNameOfAtMost(limit).safeParse(name, { error: markGeneratedMessages });
  if (result.success) return;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'too_small') return `it has ${name.length} character${name.length === 1 ? '' : 's'}, and at least ${issue.minimum} are needed`;
    if (issue.code === 'too_big') return `it has ${name.length} characters, and at most ${issue.maximum} are allowed`;
    return isGeneratedMessage(issue.message) ? 'it is not a valid name' : issue.message;
  });
  const shown = name.length > 60 ? `${name.slice(0, 60)}…` : name;
  throw new UsageError(`the <name> argument ${JSON.stringify(shown)} is not a valid instance name: ${problems.join('; ')}`, {
    hint:
      `An instance name has 3 to ${limit} characters: lowercase letters, digits and inner hyphens, ` +
      'starting with a letter (for example "prod" or "obs-eu-1"). It becomes part of bucket, IAM role and cluster names.',
  });
}

/**
 * What each kind of YAML syntax error means, in our words. yaml's own messages quote the text
 * around the error, and that line may hold a secret: only the location is given.
 */
const YAML_ERRORS: Partial<Record<YAMLError['code'], string>> = {
  ALIAS_PROPS: 'an alias (*name) cannot have an anchor or a tag',
  BAD_ALIAS: 'an alias (*name) is not valid here',
  BAD_DIRECTIVE: 'a directive (a line starting with %) is not valid',
  BAD_DQ_ESCAPE: 'a double-quoted string has an invalid escape sequence',
  BAD_INDENT: 'the indentation is wrong here',
  BAD_PROP_ORDER: 'an anchor (&name) or tag (!tag) is in the wrong place',
  BAD_SCALAR_START: 'a plain value cannot start with this character; put the value in quotes',
  BLOCK_AS_IMPLICIT_KEY: 'a block collection cannot be a mapping key',
  BLOCK_IN_FLOW: 'a block collection cannot be inside [ ] or { }',
  KEY_OVER_1024_CHARS: 'a mapping key on one line is longer than 1024 characters',
  MISSING_CHAR: 'a closing character (], }, or a quote) is missing',
  MULTILINE_IMPLICIT_KEY: 'a mapping key spans more than one line',
  MULTIPLE_ANCHORS: 'a value has more than one anchor (&name)',
  MULTIPLE_TAGS: 'a value has more than one tag (!tag)',
  RESOURCE_EXHAUSTION: 'the file expands to too much data (aliases of aliases)',
  TAB_AS_INDENT: 'a tab is used for indentation; YAML indents with spaces',
  TAG_RESOLVE_FAILED: 'a tag (!tag) that is not part of YAML 1.2; remove it',
  UNEXPECTED_TOKEN: 'unexpected text here (is a ":" or "-" missing, or does a value need quotes?)',
  BAD_COLLECTION_TYPE: 'a collection does not match its tag (!tag)',
};

function yamlErrorIssue(source: YamlSource, error: YAMLError): LocatedIssue {
  const position = positionOf(source, error.pos[0]);
  const location = formatLocation(source.file, position);
  if (error.code === 'MULTIPLE_DOCS') {
    return {
      path: '',
      message: 'the file holds more than one YAML document (a second `---`); put the whole config in one document',
      position,
      location,
    };
  }
  // The text itself is never quoted back: it may be a secret written on the wrong line.
  return { path: '', message: `invalid YAML: ${YAML_ERRORS[error.code] ?? 'the syntax is not valid here'}`, position, location };
}

function duplicateKeyIssue(source: YamlSource, duplicate: DuplicateKey): LocatedIssue {
  const position = positionOf(source, duplicate.offset);
  const key = duplicate.key.length > 60 ? `${duplicate.key.slice(0, 60)}…` : duplicate.key;
  return {
    path: formatPath(duplicate.path),
    message: `duplicate key "${key}": a key may appear only once in a mapping`,
    position,
    location: formatLocation(source.file, position),
  };
}

function fail(file: string, issues: readonly LocatedIssue[]): never {
  throw new ConfigError(file, orderIssues(issues));
}

/** An issue at an offset of text that is not parsed (yet). */
function offsetIssue(file: string, text: string, offset: number, message: string): LocatedIssue {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const position = { line, col: offset - lineStart + 1 };
  return { path: '', message, position, location: formatLocation(file, position) };
}

function rootIssue(source: YamlSource, message: string, offset = 0): LocatedIssue {
  const position = positionOf(source, offset);
  return { path: '', message, position, location: formatLocation(source.file, position) };
}

function isPlainMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/** The checks that need the command line: the file must describe this instance on this provider. */
function commandLineIssues(ctx: IssueContext, data: Record<string, unknown>, expect: ConfigExpectation, known: readonly ConfigIssue[]) {
  const issues: LocatedIssue[] = [];
  const alreadyReported = (path: string) => known.some((i) => i.path === path);
  if (typeof data.name === 'string' && data.name !== expect.name && !alreadyReported('name')) {
    issues.push(
      locatedIssue(ctx, ['name'], `expected "${expect.name}" (the <name> given on the command line), found "${data.name}"`),
    );
  }
  if (typeof data.provider === 'string' && data.provider !== expect.provider && !alreadyReported('provider')) {
    issues.push(
      locatedIssue(ctx, ['provider'], `expected "${expect.provider}" (the <provider> given on the command line), found "${data.provider}"`),
    );
  }
  // The provider's own block must be there; the schema alone cannot know which one is needed.
  const block = configBlockOf(expect.provider);
  if (block && data[block.id] === undefined) {
    issues.push(locatedIssue(ctx, [block.id], `required field is missing (the provider is ${block.id}); ${block.requiredFields}`));
  }
  return issues;
}

/** Parses and validates config text; `file` is only used to name locations. */
export function parseConfigText(text: string, file: string, expect: ConfigExpectation): ResolvedConfig {
  validateInstanceName(expect.name, expect.provider);
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    fail(file, [{ path: '', message: `the config is larger than ${formatBytes(MAX_CONFIG_BYTES)}, the most that is accepted` }]);
  }
  // Before parsing: the parser's time grows with the values, its recursion with the depth.
  const shape = checkYamlShape(text);
  if (shape) fail(file, [offsetIssue(file, text, shape.offset, shape.message)]);
  const source = parseYamlSource(text, file);

  // An unknown tag is only a warning to yaml (the value stays a string), but in a config it is a mistake.
  const syntaxErrors = [...source.doc.errors, ...source.doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED')];
  if (syntaxErrors.length > 0) fail(file, syntaxErrors.map((e) => yamlErrorIssue(source, e)));
  const duplicates = findDuplicateKeys(source.doc, MAX_REPORTED_ISSUES);
  if (duplicates.length > 0) fail(file, duplicates.map((d) => duplicateKeyIssue(source, d)));
  const unresolved = findUnresolvedAliases(source.doc, MAX_REPORTED_ISSUES);
  if (unresolved.length > 0) {
    fail(file, unresolved.map((offset) => rootIssue(source, 'invalid YAML: an alias (*name) refers to no anchor (&name) defined before it', offset)));
  }
  if (source.doc.contents === null) {
    fail(file, [rootIssue(source, `the file is empty: expected a mapping of fields such as \`dns:\` and \`${expect.provider}:\`. ${exampleHint(expect.provider)}`)]);
  }

  let data: unknown;
  try {
    data = source.doc.toJS({ maxAliasCount: 100 });
  } catch {
    // yaml refuses alias bombs (more aliases of aliases than maxAliasCount allows).
    fail(file, [rootIssue(source, `invalid YAML: ${YAML_ERRORS.RESOURCE_EXHAUSTION}`)]);
  }
  const ctx: IssueContext = { schema: configSchema, source, data };
  if (!isPlainMapping(data)) {
    fail(file, [
      locatedIssue(ctx, [], `the top level must be a mapping of fields such as \`dns:\` and \`${expect.provider}:\`, found ${describeFound(data, [])}`),
    ]);
  }

  const result = configSchema.safeParse(data, { error: markGeneratedMessages });
  const issues = result.success ? [] : fromZodIssues(result.error.issues, ctx);
  issues.push(...commandLineIssues(ctx, data, expect, issues));
  if (issues.length > 0 || !result.success) fail(file, issues);

  return { ...result.data, name: expect.name, provider: expect.provider };
}

/** Loads and validates the file given with `-c/--config`. */
export async function loadConfig(file: string, expect: ConfigExpectation): Promise<ResolvedConfig> {
  // The command line is checked before the file, so a typo there is reported first.
  validateInstanceName(expect.name, expect.provider);
  let text: string;
  try {
    text = await readBoundedTextFile(file, MAX_CONFIG_BYTES);
  } catch (err) {
    const problem = err instanceof FileReadProblem ? err.problem : String(err);
    throw new UsageError(`cannot read the config file ${JSON.stringify(file)} given with -c/--config: ${problem}`, {
      hint: `Check the path given to -c/--config. ${exampleHint(expect.provider)}`,
      cause: err,
    });
  }
  return parseConfigText(text, file, expect);
}
