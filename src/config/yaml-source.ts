/**
 * A parsed `lookout.yaml` that still knows where every value came from, so that each
 * problem can be reported at the `file:line:col` the user has to edit.
 */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type YAMLMap } from 'yaml';

export type FieldPath = ReadonlyArray<string | number>;

export interface Position {
  line: number;
  col: number;
}

export interface YamlSource {
  file: string;
  text: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

/** Parses without throwing: syntax problems are left in `doc.errors` for the caller to report. */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    // Our own messages carry the location; yaml's pretty errors would also quote the line,
    // which may hold a secret.
    prettyErrors: false,
    // Duplicate keys are found by findDuplicateKeys (yaml-limits.ts) in linear time; yaml's
    // own check compares every key of a mapping with every other.
    uniqueKeys: false,
    // `<<: *defaults` is the usual way to share settings between tenants.
    merge: true,
    // Warnings (such as a collection used as a key) would go to the console; the schema
    // reports what matters about them.
    logLevel: 'error',
  });
  return { file, text, doc, lineCounter };
}

export function positionOf(source: YamlSource, offset: number): Position {
  const { line, col } = source.lineCounter.linePos(offset);
  // LineCounter reports line 0 for offsets before the first newline it has seen.
  return line === 0 ? { line: 1, col: offset + 1 } : { line, col };
}

export function formatLocation(file: string, position: Position): string {
  return `${file}:${position.line}:${position.col}`;
}

/** `tenants[1].limits.activeSeries`; keys that are not plain words are quoted. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z_$][\w$-]*$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** One step of a walk: the value node reached, and the key node it hangs from, if any. */
interface Step {
  value: Node | null;
  key?: Node;
}

function resolve(source: YamlSource, node: unknown): Node | null {
  if (isAlias(node)) {
    const target = node.resolve(source.doc);
    return (target ?? null) as Node | null;
  }
  return (node ?? null) as Node | null;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * Each mapping's pairs by key text, built once per mapping: locating thousands of problems
 * (one per bad item of a long list) must not scan the mapping each time.
 */
const pairIndex = new WeakMap<object, Map<string, Pair>>();

function pairNamed(map: YAMLMap, key: string): Pair | undefined {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    // The last occurrence wins, as in the parsed value.
    for (const p of map.items) if (isPair(p)) index.set(keyText(p.key), p as Pair);
    pairIndex.set(map, index);
  }
  return index.get(key);
}

/** Follows `path` through the document as far as it goes; the first step is the root. */
function walk(source: YamlSource, path: FieldPath): Step[] {
  const steps: Step[] = [{ value: resolve(source, source.doc.contents) }];
  for (const segment of path) {
    const current = steps[steps.length - 1]!.value;
    let next: Step | undefined;
    if (isMap(current)) {
      const pair = pairNamed(current, String(segment));
      if (pair) next = { value: resolve(source, pair.value), key: pair.key as Node };
    } else if (isSeq(current) && typeof segment === 'number') {
      const item = current.items[segment];
      if (item !== undefined) next = { value: resolve(source, item) };
    }
    if (!next) break;
    steps.push(next);
  }
  return steps;
}

function startOf(node: Node | null | undefined): number | undefined {
  return node?.range ? node.range[0] : undefined;
}

function isEmptyScalar(node: Node | null): boolean {
  return !node || (isScalar(node) && !!node.range && node.range[0] === node.range[1]);
}

function stepOffset(step: Step): number | undefined {
  // A collection is shown at its key (`aws:`), where the block visibly starts; an empty
  // value (`aws:` with nothing after it) also has only its key to point at.
  if (step.key && (isEmptyScalar(step.value) || isMap(step.value) || isSeq(step.value))) return startOf(step.key);
  return startOf(step.value) ?? startOf(step.key);
}

/**
 * Where the value at `path` is written. A missing field is reported at the nearest mapping
 * that exists, since that is where it has to be added.
 */
export function locateValue(source: YamlSource, path: FieldPath): Position | undefined {
  const steps = walk(source, path);
  for (let i = steps.length - 1; i >= 0; i--) {
    const offset = stepOffset(steps[i]!);
    if (offset !== undefined) return positionOf(source, offset);
  }
  return undefined;
}

/** Where the key of the last segment of `path` is written (for unknown fields). */
export function locateKey(source: YamlSource, path: FieldPath): Position | undefined {
  const steps = walk(source, path);
  if (steps.length === path.length + 1) {
    const offset = startOf(steps[steps.length - 1]!.key);
    if (offset !== undefined) return positionOf(source, offset);
  }
  return locateValue(source, path);
}

/** The text of the scalar at `path` exactly as written, to quote it back to the user. */
export function sourceTextAt(source: YamlSource, path: FieldPath): string | undefined {
  const steps = walk(source, path);
  if (steps.length !== path.length + 1) return undefined;
  const node = steps[steps.length - 1]!.value;
  if (!isScalar(node) || !node.range) return undefined;
  return source.text.slice(node.range[0], node.range[1]);
}

/** The path of the deepest key or value that contains `offset` (to name a duplicate key). */
export function pathAtOffset(source: YamlSource, offset: number): Array<string | number> {
  const contains = (node: unknown) => {
    const range = (node as Node | null)?.range;
    return range !== undefined && range !== null && offset >= range[0] && offset < Math.max(range[1], range[0] + 1);
  };
  const path: Array<string | number> = [];
  let node: unknown = source.doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => contains(p.key) || contains(p.value));
      if (!pair) return path;
      path.push(keyText(pair.key));
      if (contains(pair.key)) return path;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => contains(item));
      if (index < 0) return path;
      path.push(index);
      node = node.items[index];
    } else {
      return path;
    }
  }
}
