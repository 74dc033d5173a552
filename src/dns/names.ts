/** DNS names as people and servers write them: any case, with or without the root dot. */

/** Lower case, no trailing dot: the form names are compared in. */
export function normalizeName(name: string): string {
  return name.trim().replace(/\.+$/, '').toLowerCase();
}

/** Fully qualified, as zone files and nsupdate want it: lower case with the root dot. */
export function absoluteName(name: string): string {
  return `${normalizeName(name)}.`;
}

export function sameName(a: string, b: string): boolean {
  return normalizeName(a) === normalizeName(b);
}

/** The name one level up (`obs.example.com` → `example.com`), or undefined at a TLD. */
export function parentName(name: string): string | undefined {
  const labels = normalizeName(name).split('.');
  return labels.length > 1 ? labels.slice(1).join('.') : undefined;
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** A syntactically valid host or zone name (letters, digits, hyphens, underscores for `_acme-challenge`). */
export function isValidName(name: string): boolean {
  const n = normalizeName(name);
  return n.length > 0 && n.length <= 253 && n.split('.').every((label) => LABEL.test(label));
}

const TSIG_KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** A TSIG key name as BIND writes it in a `key "<name>"` statement (no quotes, spaces or newlines). */
export function isValidTsigKeyName(name: string): boolean {
  return TSIG_KEY_NAME.test(name);
}
