/**
 * A small typed model of the Alloy configuration syntax (blocks, attributes, literals,
 * expressions) and its renderer. The collector's configuration is built from these values,
 * so quoting, escaping and references are handled in one place instead of in a template.
 */

/** An Alloy expression written verbatim (a function call, a concatenation, a reference). */
export class AlloyExpression {
  constructor(
    readonly text: string,
    /** Components (`<name>.<label>`) this expression refers to, so references can be checked. */
    readonly references: readonly string[] = [],
  ) {}
}

export type AlloyValue = string | number | boolean | AlloyExpression | readonly AlloyValue[] | { readonly [key: string]: AlloyValue };

export interface AlloyBlock {
  /** Block name, e.g. `prometheus.scrape` or `rule`. */
  name: string;
  /** Component label; only top-level components have one. */
  label?: string;
  /** Attributes, rendered in insertion order before the nested blocks. */
  attributes: Record<string, AlloyValue>;
  /** Nested blocks, in order (for `loki.process` stages, order is the pipeline). */
  blocks: AlloyBlock[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BLOCK_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function assertIdentifier(kind: string, value: string): void {
  if (!IDENTIFIER.test(value)) throw new Error(`invalid Alloy ${kind} ${JSON.stringify(value)}: must match ${IDENTIFIER}`);
}

export function block(
  name: string,
  label: string | undefined,
  attributes: Record<string, AlloyValue | undefined> = {},
  blocks: AlloyBlock[] = [],
): AlloyBlock {
  if (!BLOCK_NAME.test(name)) throw new Error(`invalid Alloy block name ${JSON.stringify(name)}`);
  if (label !== undefined) assertIdentifier('component label', label);
  const defined: Record<string, AlloyValue> = {};
  for (const [key, value] of Object.entries(attributes)) {
    assertIdentifier('attribute name', key);
    if (value !== undefined) defined[key] = value;
  }
  return { name, ...(label === undefined ? {} : { label }), attributes: defined, blocks };
}

/** A verbatim expression, such as `sys.env("NODE_NAME")`. */
export function expression(text: string, references: readonly string[] = []): AlloyExpression {
  return new AlloyExpression(text, references);
}

/** A reference to an export of a component, e.g. `loki.write.system.receiver`. */
export function exportOf(component: AlloyBlock, field: string): AlloyExpression {
  if (component.label === undefined) throw new Error(`block ${component.name} has no label and cannot be referenced`);
  assertIdentifier('export name', field);
  const id = `${component.name}.${component.label}`;
  return new AlloyExpression(`${id}.${field}`, [id]);
}

/** `"prefix" + <expression>`: string concatenation with an expression. */
export function concat(...parts: Array<string | AlloyExpression>): AlloyExpression {
  return new AlloyExpression(
    parts.map((p) => (typeof p === 'string' ? quote(p) : p.text)).join(' + '),
    parts.flatMap((p) => (typeof p === 'string' ? [] : p.references)),
  );
}

/** Alloy strings use Go-style escapes; JSON's escaping is a subset of them. */
function quote(value: string): string {
  return JSON.stringify(value);
}

function renderKey(key: string): string {
  return IDENTIFIER.test(key) ? key : quote(key);
}

function renderValue(value: AlloyValue, indent: string): string {
  if (value instanceof AlloyExpression) return value.text;
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`Alloy numbers must be finite, got ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) {
    const items = value as readonly AlloyValue[];
    if (items.length === 0) return '[]';
    const inner = `${indent}  `;
    return `[\n${items.map((v) => `${inner}${renderValue(v, inner)},`).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, AlloyValue>);
  if (entries.length === 0) return '{}';
  const inner = `${indent}  `;
  return `{\n${entries.map(([k, v]) => `${inner}${renderKey(k)} = ${renderValue(v, inner)},`).join('\n')}\n${indent}}`;
}

function renderBlock(b: AlloyBlock, indent: string): string {
  const header = b.label === undefined ? b.name : `${b.name} ${quote(b.label)}`;
  const inner = `${indent}  `;
  const lines: string[] = [];
  const keys = Object.keys(b.attributes);
  const width = Math.max(0, ...keys.map((k) => k.length));
  for (const key of keys) lines.push(`${inner}${key.padEnd(width)} = ${renderValue(b.attributes[key]!, inner)}`);
  for (const child of b.blocks) {
    if (lines.length > 0) lines.push('');
    lines.push(renderBlock(child, inner));
  }
  return lines.length === 0 ? `${indent}${header} {}` : `${indent}${header} {\n${lines.join('\n')}\n${indent}}`;
}

export interface AlloyComment {
  comment: string;
}

/** Renders top-level blocks (each optionally preceded by a `//` comment) as one configuration file. */
export function renderAlloy(items: ReadonlyArray<AlloyBlock | AlloyComment>): string {
  const out: string[] = [];
  for (const item of items) {
    if ('comment' in item) {
      out.push(...item.comment.split('\n').map((line) => `// ${line}`.trimEnd()));
    } else {
      out.push(renderBlock(item, ''), '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** Every component (`<name>.<label>`) defined at the top level. */
export function definedComponents(items: ReadonlyArray<AlloyBlock | AlloyComment>): string[] {
  return items.flatMap((i) => ('comment' in i || i.label === undefined ? [] : [`${i.name}.${i.label}`]));
}

/** Every component referenced by an expression anywhere in the blocks. */
export function referencedComponents(items: ReadonlyArray<AlloyBlock | AlloyComment>): string[] {
  const found = new Set<string>();
  const visitValue = (v: AlloyValue): void => {
    if (v instanceof AlloyExpression) v.references.forEach((r) => found.add(r));
    else if (Array.isArray(v)) (v as readonly AlloyValue[]).forEach(visitValue);
    else if (v && typeof v === 'object') Object.values(v as Record<string, AlloyValue>).forEach(visitValue);
  };
  const visitBlock = (b: AlloyBlock): void => {
    Object.values(b.attributes).forEach(visitValue);
    b.blocks.forEach(visitBlock);
  };
  for (const i of items) if (!('comment' in i)) visitBlock(i);
  return [...found].sort();
}
