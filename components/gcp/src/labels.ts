/**
 * GCP labels: what a component puts on every resource that takes labels. GCP is stricter than
 * AWS tags (keys and values lowercase letters, digits, `_` and `-`, at most 63 characters, keys
 * start with a letter), so the components check them before registering anything: a bad label
 * would otherwise fail half-way through an `up`.
 */
export type Labels = Readonly<Record<string, string>>;

const KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const VALUE = /^[a-z0-9_-]{0,63}$/;
/** GCP allows at most 64 labels per resource. */
const MAX_LABELS = 64;

/** Why the labels would be refused by GCP, or undefined when they are fine. */
export function labelsProblem(labels: Labels): string | undefined {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) return `has ${entries.length} labels, more than GCP's ${MAX_LABELS}`;
  for (const [key, value] of entries) {
    if (!KEY.test(key)) return `key "${key}" must be 1–63 lowercase letters, digits, _ or -, starting with a letter`;
    if (!VALUE.test(value)) return `value "${value}" of "${key}" must be at most 63 lowercase letters, digits, _ or -`;
  }
  return undefined;
}

/** Throws a plain Error naming the component when its labels would be refused. */
export function checkLabels(component: string, labels: Labels | undefined): Labels {
  const problem = labelsProblem(labels ?? {});
  if (problem) throw new Error(`${component}: labels ${problem}`);
  return labels ?? {};
}
