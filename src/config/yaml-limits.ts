/**
 * Bounds on a config file, checked before and right after parsing, so that any input is
 * answered within a second or two: the parser's cost grows with the number of values and
 * its recursion with the nesting depth (2,000 levels overflowed the stack), and the yaml
 * library's own duplicate-key check compares every key with every other one of its mapping.
 *
 * The limits are far above any config the platform can run: the gateway's tenants Secret caps
 * an instance at about 1,900 tenants or 6,700 tokens (see tenant-budget.ts), which is about
 * 25,000 values; the schema itself is 6 levels deep.
 */
import { CST, Lexer, isAlias, isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml';

/** Largest config file read, in bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Most scalars, aliases and flow collections in one file. */
export const MAX_CONFIG_VALUES = 50_000;
/** Deepest nesting of collections. */
export const MAX_CONFIG_DEPTH = 64;
/** Most aliases (`*name`): yaml resolves each against every anchor and alias before it. */
export const MAX_CONFIG_ALIASES = 5_000;

export interface ShapeProblem {
  message: string;
  /** Offset in the text where the limit was crossed. */
  offset: number;
}

/** Tokens the lexer inserts that are not in the source text. */
const VIRTUAL_TOKENS = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

/**
 * One pass of yaml's lexer (linear, no recursion) over the text: counts values and estimates
 * nesting, and stops at the first limit crossed. Block nesting is estimated from indentation
 * levels plus the `-`/`?` indicators of the line (a mapping and a sequence can share a column,
 * so the real depth is at most twice the estimate, far inside what the parser handles).
 */
export function checkYamlShape(text: string): ShapeProblem | undefined {
  let offset = 0;
  let col = 0;
  let flow = 0;
  let lineStart = true;
  let lineIndicators = 0;
  let values = 0;
  let aliases = 0;
  const indents: number[] = [];
  let scalarContentNext = false;

  const advance = (token: string) => {
    offset += token.length;
    const newline = token.lastIndexOf('\n');
    col = newline === -1 ? col + token.length : token.length - newline - 1;
  };
  const content = (): ShapeProblem | undefined => {
    if (lineStart) {
      lineStart = false;
      if (flow === 0) {
        while (indents.length > 0 && indents[indents.length - 1]! > col) indents.pop();
        if (indents.length === 0 || indents[indents.length - 1]! < col) indents.push(col);
      }
    }
    const depth = flow + indents.length + lineIndicators;
    if (depth > MAX_CONFIG_DEPTH) {
      return { message: `the file nests collections more than ${MAX_CONFIG_DEPTH} levels deep; a config needs at most 6`, offset };
    }
    if (values > MAX_CONFIG_VALUES) {
      return {
        message: `the file holds more than ${MAX_CONFIG_VALUES.toLocaleString('en-US')} values; no config the platform can run is that large`,
        offset,
      };
    }
    return undefined;
  };

  for (const token of new Lexer().lex(text)) {
    if (scalarContentNext) {
      scalarContentNext = false;
      const problem = content();
      if (problem) return problem;
      advance(token);
      continue;
    }
    if (VIRTUAL_TOKENS.has(token)) {
      if (token === CST.SCALAR) {
        values++;
        scalarContentNext = true;
      }
      continue;
    }
    let problem: ShapeProblem | undefined;
    switch (CST.tokenType(token)) {
      case 'newline':
        advance(token);
        lineStart = true;
        lineIndicators = 0;
        continue;
      case 'space':
      case 'comment':
      case 'map-value-ind':
      case 'comma':
        advance(token);
        continue;
      case 'flow-map-start':
      case 'flow-seq-start':
        values++;
        problem = content();
        flow++;
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        flow = Math.max(0, flow - 1);
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
        problem = content();
        if (flow === 0) lineIndicators++;
        break;
      case 'alias':
        values++;
        aliases++;
        problem =
          aliases > MAX_CONFIG_ALIASES
            ? { message: `the file has more than ${MAX_CONFIG_ALIASES.toLocaleString('en-US')} aliases (*name); a config needs a few`, offset }
            : content();
        break;
      default:
        problem = content();
    }
    if (problem) return problem;
    advance(token);
  }
  return undefined;
}

/**
 * Every node in document order (a key before its value, items in order), with its path, in a
 * loop rather than recursion. Aliases are not followed: their target is visited where it is
 * written.
 */
function walkInOrder(doc: Document.Parsed, visit: (node: unknown, path: Array<string | number>, key?: Node) => boolean | void): void {
  const stack: Array<{ node: unknown; path: Array<string | number>; key?: Node }> = [{ node: doc.contents, path: [] }];
  while (stack.length > 0) {
    const { node, path, key } = stack.pop()!;
    if (visit(node, path, key) === false) return;
    if (isMap(node)) {
      const pairs = node.items as Pair<Node, Node>[];
      for (let i = pairs.length - 1; i >= 0; i--) {
        const pair = pairs[i]!;
        const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        stack.push({ node: pair.value, path: [...path, name], key: pair.key });
        // The key itself can hold an alias or an anchor.
        if (!isScalar(pair.key)) stack.push({ node: pair.key, path });
      }
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) stack.push({ node: node.items[i], path: [...path, i] });
    }
  }
}

export interface DuplicateKey {
  path: Array<string | number>;
  key: string;
  /** Offset of the repeated key. */
  offset: number;
}

function scalarKey(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  // As yaml's own check: equal when the parsed values are equal (1 and "1" are different keys).
  return `${typeof key.value}:${String(key.value)}`;
}

/**
 * Keys that appear twice in one mapping, in one walk over the document: each mapping's keys go
 * into a set, so the check is linear in the number of keys. (yaml's `uniqueKeys` compares each
 * key with all the keys before it.)
 */
export function findDuplicateKeys(doc: Document.Parsed, limit: number): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  walkInOrder(doc, (node, path) => {
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items as Pair<Node, Node>[]) {
      const key = scalarKey(pair.key);
      if (key === undefined) continue;
      if (seen.has(key)) {
        const name = String((pair.key as { value: unknown }).value);
        found.push({ path: [...path, name], key: name, offset: pair.key?.range?.[0] ?? 0 });
        if (found.length >= limit) return false;
      }
      seen.add(key);
    }
  });
  return found;
}

/**
 * Aliases whose anchor is not defined before them, in one walk in document order (yaml's own
 * resolution searches the whole document for every alias).
 */
export function findUnresolvedAliases(doc: Document.Parsed, limit: number): number[] {
  const anchors = new Set<string>();
  const offsets: number[] = [];
  walkInOrder(doc, (node) => {
    if (isAlias(node)) {
      if (!anchors.has(node.source)) {
        offsets.push(node.range?.[0] ?? 0);
        if (offsets.length >= limit) return false;
      }
      return;
    }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.add(anchor);
  });
  return offsets;
}
