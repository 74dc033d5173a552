/**
 * Text on its way to a terminal. Messages quote what users wrote (a config value, a key, a
 * file name), and a control character or a bidirectional override in there would move the
 * cursor, rewrite the line or make the text read differently from what it is. Everything the
 * CLI prints passes through here: human text keeps its newlines and tabs and shows every other
 * such character as `\u{…}`; JSON gets the same characters as `\uXXXX` escapes, which mean
 * the same string to a JSON reader.
 */

/**
 * C0 controls but tab and newline, DEL, C1 controls, the bidirectional marks, embeddings,
 * overrides and isolates, the line and paragraph separators, zero-width characters and the
 * byte-order mark.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
/** The same, for JSON text: JSON.stringify already escapes C0 controls (newline and tab included). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

const hex = (c: string) => c.codePointAt(0)!.toString(16).padStart(4, '0');

export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u{${hex(c)}}`);
}

/** One JSON line with nothing in it a terminal would act on. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c)}`) + '\n';
}
