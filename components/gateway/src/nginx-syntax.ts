/**
 * A small typed model of nginx configuration and its serializer. The gateway's config is built
 * as data and printed here, so quoting and escaping are decided in one place rather than in
 * every string that ends up in nginx.conf.
 */

/** One directive: its words (name first, then arguments) and, for a block, its children. */
export interface Directive {
  words: readonly string[];
  block?: readonly Node[];
}

/** A `# comment` line; comments say why a block exists, for whoever reads the rendered file. */
export interface Comment {
  comment: string;
}

export type Node = Directive | Comment;

export function directive(...words: string[]): Directive {
  return { words };
}

export function block(words: string[], children: readonly Node[]): Directive {
  return { words, block: children };
}

export function comment(text: string): Comment {
  return { comment: text };
}

/**
 * Words nginx reads literally without quotes. `$` stays unquoted on purpose (it is a variable
 * either way), and so do parentheses and `!=`, which `if (...)` conditions need bare, and the
 * brackets of IPv6 addresses.
 */
const BARE_WORD = /^[A-Za-z0-9_./:=!,@$*+()[\]-]+$/;

/**
 * The word as nginx must read it back. Quoted words are double-quoted with `\`, `"` and line
 * breaks escaped: nginx's tokenizer turns `\\`, `\"`, `\n`, `\r` and `\t` back into the
 * characters and leaves every other `\x` alone, so a regex such as `\.` round-trips exactly.
 */
export function quoteWord(word: string): string {
  if (word.includes('\0')) throw new Error(`an nginx config word cannot contain NUL: ${JSON.stringify(word)}`);
  if (BARE_WORD.test(word)) return word;
  const escaped = word
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return `"${escaped}"`;
}

function render(nodes: readonly Node[], depth: number, out: string[]): void {
  const indent = '    '.repeat(depth);
  for (const node of nodes) {
    if ('comment' in node) {
      for (const line of node.comment.split('\n')) out.push(`${indent}# ${line}`.trimEnd());
      continue;
    }
    if (node.words.length === 0) throw new Error('an nginx directive needs a name');
    const head = node.words.map(quoteWord).join(' ');
    if (node.block === undefined) {
      out.push(`${indent}${head};`);
    } else {
      out.push(`${indent}${head} {`);
      render(node.block, depth + 1, out);
      out.push(`${indent}}`);
    }
  }
}

/** The text of a config file (or of an include file) made of these nodes. */
export function serializeNginx(nodes: readonly Node[]): string {
  const out: string[] = [];
  render(nodes, 0, out);
  return `${out.join('\n')}\n`;
}
