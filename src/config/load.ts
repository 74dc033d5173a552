/**
 * Reads `lookout.yaml`, validates it against the schema and the command line, and reports
 * every problem at once, each with its field path, `file:line:col`, and what was expected
 * and found. Nothing downstream ever sees an unvalidated config.
 */
import { readFile } from 'node:fs/promises';
import { isAlias, visit, type YAMLError } from 'yaml';
import { ConfigError, UsageError, type ConfigIssue } from '../errors.js';
import { configBlockOf, instanceNameLimit } from './provider-blocks.js';
import { describeFound, fromZodIssues, isGeneratedMessage, locatedIssue, markGeneratedMessages, orderIssues, type IssueContext, type LocatedIssue } from './issues.js';
import { configSchema, instanceNameOfAtMost, type LookoutConfig, type Provider } from './schema.js';
import { formatLocation, formatPath, parseYamlSource, pathAtOffset, positionOf, type YamlSource } from './yaml-source.js';

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

function yamlErrorIssue(source: YamlSource, error: YAMLError): LocatedIssue {
  const position = positionOf(source, error.pos[0]);
  const location = formatLocation(source.file, position);
  switch (error.code) {
    case 'DUPLICATE_KEY': {
      const path = pathAtOffset(source, error.pos[0]);
      const key = path[path.length - 1];
      return {
        path: formatPath(path),
        message: `duplicate key${key === undefined ? '' : ` "${key}"`}: a key may appear only once in a mapping`,
        position,
        location,
      };
    }
    case 'MULTIPLE_DOCS':
      return {
        path: '',
        message: 'the file holds more than one YAML document (a second `---`); put the whole config in one document',
        position,
        location,
      };
    default:
      return { path: '', message: `invalid YAML: ${error.message}`, position, location };
  }
}

/** Aliases whose anchor is missing only fail when the value is built; find them first. */
function unresolvedAliasIssues(source: YamlSource): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  visit(source.doc, {
    Alias(_key, node) {
      if (isAlias(node) && node.resolve(source.doc) === undefined && node.range) {
        const position = positionOf(source, node.range[0]);
        issues.push({
          path: '',
          message: `invalid YAML: alias *${node.source} refers to no anchor defined before it`,
          position,
          location: formatLocation(source.file, position),
        });
      }
    },
  });
  return issues;
}

function fail(file: string, issues: readonly LocatedIssue[]): never {
  throw new ConfigError(file, orderIssues(issues));
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
  const source = parseYamlSource(text, file);

  if (source.doc.errors.length > 0) fail(file, source.doc.errors.map((e) => yamlErrorIssue(source, e)));
  const aliasIssues = unresolvedAliasIssues(source);
  if (aliasIssues.length > 0) fail(file, aliasIssues);
  if (source.doc.contents === null) {
    fail(file, [rootIssue(source, `the file is empty: expected a mapping of fields such as \`dns:\` and \`${expect.provider}:\`. ${exampleHint(expect.provider)}`)]);
  }

  let data: unknown;
  try {
    data = source.doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // yaml refuses alias bombs and similar; its message says which limit was hit.
    fail(file, [rootIssue(source, `invalid YAML: ${err instanceof Error ? err.message : String(err)}`)]);
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

function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/** Loads and validates the file given with `-c/--config`. */
export async function loadConfig(file: string, expect: ConfigExpectation): Promise<ResolvedConfig> {
  // The command line is checked before the file, so a typo there is reported first.
  validateInstanceName(expect.name, expect.provider);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the config file ${JSON.stringify(file)} given with -c/--config: ${readProblem(err)}`, {
      hint: `Check the path given to -c/--config. ${exampleHint(expect.provider)}`,
      cause: err,
    });
  }
  return parseConfigText(text, file, expect);
}
