/**
 * Edits to `lookout.yaml` made by `lookout tenant …` and `lookout token …`: the file stays the
 * single source of truth, so the commands change it, and only the lines they must. Edits go
 * through yaml's Document API, which keeps every comment, blank line and the layout of
 * everything it does not touch. Pure: text in, text out; the caller validates the result with
 * the same schema as any config before writing it.
 */
import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { UsageError } from '../errors.js';
import type { TokenScope } from '../config/tokens.js';

export interface NewTenant {
  name: string;
  tokens?: readonly NewToken[];
  allowedCidrs?: readonly string[];
}

export interface NewToken {
  name: string;
  scope?: TokenScope;
  expiresInDays?: number;
}

/** Spacing inside flow brackets, which yaml re-renders its own way. */
const flowSpacing = (line: string) => line.replace(/([[{])\s+/g, '$1').replace(/\s+([\]}])/g, '$1');

/**
 * The edited document as text, with every line the edit did not change exactly as the user wrote
 * it: yaml keeps comments and blank lines but renders flow collections with its own spacing
 * (`[ a ]`), so a line that differs from an original one only by that spacing is the original.
 */
function render(doc: Document.Parsed, original: string): string {
  const originals = new Map<string, string>();
  for (const line of original.split('\n')) if (!originals.has(flowSpacing(line))) originals.set(flowSpacing(line), line);
  return doc
    .toString()
    .split('\n')
    .map((line) => originals.get(flowSpacing(line)) ?? line)
    .join('\n');
}

function parse(text: string, file: string): Document.Parsed {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) throw new UsageError(`${file}: not valid YAML (${doc.errors[0]!.message.split('\n')[0]})`, { hint: 'Fix the file, then run the command again.' });
  if (!isMap(doc.contents)) throw new UsageError(`${file}: the config must be a mapping`);
  return doc;
}

function tenantsSeq(doc: Document.Parsed, file: string, create: boolean): YAMLSeq | undefined {
  const root = doc.contents as YAMLMap;
  const tenants = root.get('tenants', true);
  if (tenants === undefined || (isScalar(tenants) && tenants.value === null)) {
    if (!create) return undefined;
    const seq = doc.createNode([]) as YAMLSeq;
    root.set('tenants', seq);
    return seq;
  }
  if (!isSeq(tenants)) throw new UsageError(`${file}: tenants must be a list`);
  return tenants;
}

function findTenant(seq: YAMLSeq | undefined, name: string): YAMLMap | undefined {
  return seq?.items.find((item): item is YAMLMap => isMap(item) && item.get('name') === name);
}

function tokenNode(token: NewToken): unknown {
  if ((token.scope ?? 'all') === 'all' && token.expiresInDays === undefined) return token.name;
  return { name: token.name, ...(token.scope ? { scope: token.scope } : {}), ...(token.expiresInDays !== undefined ? { expiresInDays: token.expiresInDays } : {}) };
}

function tokenName(item: unknown): string | undefined {
  if (isScalar(item)) return typeof item.value === 'string' ? item.value : undefined;
  if (isMap(item)) {
    const name = item.get('name');
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}

/** The config with a new tenant appended to `tenants` (the list is created when missing). */
export function addTenant(text: string, file: string, tenant: NewTenant): string {
  const doc = parse(text, file);
  const seq = tenantsSeq(doc, file, true)!;
  if (findTenant(seq, tenant.name)) throw new UsageError(`tenant ${tenant.name} is already in ${file}`);
  const node = doc.createNode({
    name: tenant.name,
    ...(tenant.tokens ? { tokens: tenant.tokens.map(tokenNode) } : {}),
    ...(tenant.allowedCidrs ? { allowedCidrs: [...tenant.allowedCidrs] } : {}),
  }) as YAMLMap;
  // Token and CIDR lists of a new tenant read best on one line, like the examples'.
  for (const key of ['allowedCidrs']) {
    const list = node.get(key, true);
    if (isSeq(list)) list.flow = true;
  }
  seq.items.push(node);
  return render(doc, text);
}

/** The config without the tenant; refuses a tenant that is not in it. */
export function removeTenant(text: string, file: string, name: string): string {
  const doc = parse(text, file);
  const seq = tenantsSeq(doc, file, false);
  const index = seq?.items.findIndex((item) => isMap(item) && item.get('name') === name) ?? -1;
  if (!seq || index < 0) throw new UsageError(`tenant ${name} is not in ${file}`, { hint: 'See the tenants with `lookout tenant list`.' });
  seq.items.splice(index, 1);
  return render(doc, text);
}

/** The config with a token added to a tenant's `tokens` (a tenant without the key had `default`). */
export function addToken(text: string, file: string, tenant: string, token: NewToken): string {
  const doc = parse(text, file);
  const node = findTenant(tenantsSeq(doc, file, false), tenant);
  if (!node) throw new UsageError(`tenant ${tenant} is not in ${file}`, { hint: 'Add it first with `lookout tenant add`.' });
  let tokens: unknown = node.get('tokens', true);
  if (tokens === undefined) {
    // The schema's default, written out, so that adding a token does not revoke `default`.
    tokens = doc.createNode(['default']);
    node.set('tokens', tokens);
  }
  if (!isSeq(tokens)) throw new UsageError(`${file}: tenants[${tenant}].tokens must be a list`);
  if (tokens.items.some((item) => tokenName(item) === token.name)) throw new UsageError(`tenant ${tenant} already has a token named ${token.name}`);
  const added = doc.createNode(tokenNode(token));
  // A flow list (`tokens: [a, b]`) cannot hold a block mapping nicely; turn the mapping into flow too.
  if (tokens.flow && isMap(added)) added.flow = true;
  tokens.items.push(added);
  return render(doc, text);
}

/** The config without one of a tenant's tokens; refuses to remove its last one. */
export function removeToken(text: string, file: string, tenant: string, token: string): string {
  const doc = parse(text, file);
  const node = findTenant(tenantsSeq(doc, file, false), tenant);
  if (!node) throw new UsageError(`tenant ${tenant} is not in ${file}`);
  const tokens = node.get('tokens', true);
  const items = isSeq(tokens) ? tokens.items : undefined;
  const names = items ? items.map(tokenName) : ['default'];
  const index = names.indexOf(token);
  if (index < 0) throw new UsageError(`tenant ${tenant} has no token named ${token}`, { hint: `Its tokens: ${names.join(', ')}.` });
  if (names.length === 1) {
    throw new UsageError(`${token} is the last token of tenant ${tenant}`, { hint: 'Create another one first, or remove the tenant.' });
  }
  items!.splice(index, 1);
  return render(doc, text);
}
