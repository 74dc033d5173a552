/**
 * The config reference table in the README, generated from the JSON Schema so the docs can
 * never drift from what the validator accepts (a test compares the two).
 */
import { configJsonSchema } from './json-schema.js';

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  format?: string;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
}

export interface ReferenceRow {
  field: string;
  type: string;
  default: string;
  description: string;
}

function describeType(node: JsonSchemaNode): string {
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  const type = Array.isArray(node.type) ? node.type.join('/') : (node.type ?? 'any');
  const bounds: string[] = [];
  const min = node.minimum ?? node.exclusiveMinimum;
  if (min !== undefined && node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER) bounds.push(`${min}–${node.maximum}`);
  else if (node.exclusiveMinimum !== undefined) bounds.push(`> ${node.exclusiveMinimum}`);
  else if (node.minimum !== undefined) bounds.push(`≥ ${node.minimum}`);
  if (node.format) bounds.push(node.format);
  if (node.maxLength !== undefined) bounds.push(`≤ ${node.maxLength} chars`);
  return bounds.length ? `${type} (${bounds.join(', ')})` : type;
}

function walk(node: JsonSchemaNode, path: string, required: boolean, rows: ReferenceRow[]): void {
  const inner = node.anyOf?.find((n) => n.type !== 'null') ?? node;
  if (inner.type === 'object' && inner.properties) {
    // List items are described by the list's own row.
    if (path && !path.endsWith('[]')) {
      rows.push({
        field: `\`${path}\``,
        type: 'object',
        default: required ? 'required' : inner.default !== undefined || node.default !== undefined ? '' : 'optional',
        description: node.description ?? inner.description ?? '',
      });
    }
    for (const [key, child] of Object.entries(inner.properties)) {
      walk(child, path ? `${path}.${key}` : key, (inner.required ?? []).includes(key), rows);
    }
    return;
  }
  if (inner.type === 'array' && inner.items?.type === 'object') {
    rows.push({ field: `\`${path}[]\``, type: 'list', default: formatDefault(node, required), description: node.description ?? '' });
    walk(inner.items, `${path}[]`, false, rows);
    return;
  }
  const type = inner.type === 'array' && inner.items ? `list of ${describeType(inner.items)}` : describeType(inner);
  rows.push({ field: `\`${path}\``, type, default: formatDefault(node, required), description: node.description ?? inner.description ?? '' });
}

function formatDefault(node: JsonSchemaNode, required: boolean): string {
  if (node.default !== undefined) return `\`${JSON.stringify(node.default)}\``;
  return required ? 'required' : 'optional';
}

export function configReferenceRows(): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  walk(configJsonSchema() as JsonSchemaNode, '', true, rows);
  return rows;
}

export function configReferenceMarkdown(): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = ['| field | type | default | description |', '| --- | --- | --- | --- |'];
  for (const r of configReferenceRows()) {
    lines.push(`| ${r.field} | ${r.type} | ${r.default} | ${escape(r.description)} |`);
  }
  return lines.join('\n');
}

const START = /<!-- config-reference:start[^>]*-->/;
const END = '<!-- config-reference:end -->';

/** The README text with the generated table between its markers. */
export function replaceConfigReference(readme: string): string {
  const start = START.exec(readme);
  const end = readme.indexOf(END);
  if (!start || end < start.index) throw new Error('README.md has no config-reference markers');
  const head = readme.slice(0, start.index + start[0].length);
  return `${head}\n${configReferenceMarkdown()}\n${readme.slice(end)}`;
}
