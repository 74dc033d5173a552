/**
 * Reads the zod schema itself, so that error messages can state the whole rule ("between 2
 * and 3", "one of ...", the valid field names) from the single source of truth.
 */
import type { z } from 'zod';
import type { FieldPath } from './yaml-source.js';

type Schema = z.core.$ZodType;

interface CheckDef {
  check: string;
  value?: unknown;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  format?: string;
}

/** Strips the wrappers that do not change what a value must look like. */
export function unwrap(schema: Schema): Schema {
  for (let depth = 0; depth < 64; depth++) {
    const def = schema._zod.def;
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'nonoptional':
      case 'default':
      case 'prefault':
      case 'catch':
      case 'readonly':
        schema = (def as z.core.$ZodOptionalDef).innerType;
        break;
      case 'pipe':
        // Users write the input side.
        schema = (def as z.core.$ZodPipeDef).in;
        break;
      case 'lazy':
        schema = (def as z.core.$ZodLazyDef).getter();
        break;
      default:
        return schema;
    }
  }
  return schema;
}

/** The schema of the value at `path`, or undefined where the path leaves the schema. */
export function schemaAt(root: Schema, path: FieldPath): Schema | undefined {
  let current: Schema | undefined = root;
  for (const segment of path) {
    if (!current) return undefined;
    const inner = unwrap(current);
    const def = inner._zod.def;
    if (def.type === 'object') {
      const shape = (def as z.core.$ZodObjectDef).shape;
      current = typeof segment === 'string' && Object.hasOwn(shape, segment) ? shape[segment] : undefined;
    } else if (def.type === 'array') {
      current = typeof segment === 'number' ? (def as z.core.$ZodArrayDef).element : undefined;
    } else if (def.type === 'record') {
      current = (def as z.core.$ZodRecordDef).valueType;
    } else {
      return undefined;
    }
  }
  return current;
}

/** The field names allowed in the mapping at `path`. */
export function fieldNamesAt(root: Schema, path: FieldPath): string[] {
  const schema = schemaAt(root, path);
  if (!schema) return [];
  const def = unwrap(schema)._zod.def;
  return def.type === 'object' ? Object.keys((def as z.core.$ZodObjectDef).shape) : [];
}

function checksOf(schema: Schema): CheckDef[] {
  return (unwrap(schema)._zod.def.checks ?? []).map((c) => c._zod.def as unknown as CheckDef);
}

/** The numeric type and range, phrased for a message: "an integer between 2 and 3". */
export function describeNumber(schema: Schema | undefined): string | undefined {
  if (!schema || unwrap(schema)._zod.def.type !== 'number') return undefined;
  const checks = checksOf(schema);
  const isInt = checks.some((c) => c.check === 'number_format' && /int/.test(c.format ?? ''));
  let lower: { value: number; inclusive: boolean } | undefined;
  let upper: { value: number; inclusive: boolean } | undefined;
  for (const c of checks) {
    if (typeof c.value !== 'number') continue;
    if (c.check === 'greater_than') lower = { value: c.value, inclusive: c.inclusive ?? true };
    if (c.check === 'less_than') upper = { value: c.value, inclusive: c.inclusive ?? true };
  }
  const noun = isInt ? 'an integer' : 'a number';
  if (lower?.inclusive && upper?.inclusive) return `${noun} between ${lower.value} and ${upper.value}`;
  const parts: string[] = [];
  if (lower) parts.push(lower.inclusive ? `at least ${lower.value}` : `greater than ${lower.value}`);
  if (upper) parts.push(upper.inclusive ? `at most ${upper.value}` : `less than ${upper.value}`);
  if (parts.length === 0) return noun;
  return `${noun} ${parts[0]!.startsWith('at ') ? 'of ' : ''}${parts.join(' and ')}`;
}

/** The allowed length of a string or list: "1 to 54", "at least 1", "at most 40". */
export function describeLength(schema: Schema | undefined): string | undefined {
  if (!schema) return undefined;
  let min: number | undefined;
  let max: number | undefined;
  for (const c of checksOf(schema)) {
    if (c.check === 'min_length' && typeof c.minimum === 'number') min = c.minimum;
    if (c.check === 'max_length' && typeof c.maximum === 'number') max = c.maximum;
    if (c.check === 'length_equals' && typeof (c as { length?: unknown }).length === 'number') {
      min = max = (c as unknown as { length: number }).length;
    }
  }
  if (min !== undefined && max !== undefined) return min === max ? `exactly ${min}` : `${min} to ${max}`;
  if (min !== undefined) return `at least ${min}`;
  if (max !== undefined) return `at most ${max}`;
  return undefined;
}
