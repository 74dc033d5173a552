/**
 * What a package's README tells a user to do, read from the README itself: the install
 * command, and the `## Example` section's program with the stack config it asks for. The
 * package tests run exactly this, so the README cannot drift from the package.
 */
export interface CodeBlock {
  lang: string;
  code: string;
  /** The `## ` heading the block is under ('' before the first one). */
  section: string;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let section = '';
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of markdown.split('\n')) {
    if (open) {
      if (/^```\s*$/.test(line)) {
        blocks.push({ lang: open.lang, code: `${open.lines.join('\n')}\n`, section });
        open = undefined;
      } else {
        open.lines.push(line);
      }
    } else if (line.startsWith('```')) {
      open = { lang: line.slice(3).trim().split(/\s/)[0] ?? '', lines: [] };
    } else if (line.startsWith('## ')) {
      section = line.slice(3).trim();
    }
  }
  if (open) throw new Error('a code block is not closed');
  return blocks;
}

/** The README's `npm install …` command, as arguments to npm. */
export function installCommand(markdown: string): string[] {
  for (const block of codeBlocks(markdown).filter((b) => b.lang === 'sh')) {
    const line = block.code.split('\n').find((l) => /^npm install\s/.test(l));
    if (line) return line.replace(/\s+#.*$/, '').trim().split(/\s+/).slice(1);
  }
  throw new Error('the README has no `npm install` command in a sh block');
}

/** The `sh` block that starts with `firstLine`, for a test to run as a user would paste it. */
export function shellBlockStartingWith(markdown: string, firstLine: string): string {
  const block = codeBlocks(markdown).find((b) => b.lang === 'sh' && b.code.startsWith(firstLine));
  if (!block) throw new Error(`the README has no sh block starting with ${JSON.stringify(firstLine)}`);
  return block.code;
}

export interface ReadmeExample {
  /** The program, a TypeScript module. */
  program: string;
  /** Stack config from its `pulumi config set` lines. */
  config: Record<string, string>;
  secretKeys: string[];
}

/**
 * The `## Example` section: exactly one `ts` block (the program), and `pulumi config set
 * [--secret] <key> <value>` lines in its `sh` blocks. A value the shell would compute
 * (`"$(cat tls.crt)"`, `"$SECRET"`) stands for the user's own data: the test passes a
 * placeholder naming the key, made of the characters an opaque token may hold, which the
 * mocks and the components accept as they would any such string.
 */
export function readmeExample(markdown: string): ReadmeExample {
  const blocks = codeBlocks(markdown).filter((b) => b.section === 'Example');
  const programs = blocks.filter((b) => b.lang === 'ts');
  if (programs.length !== 1) throw new Error(`the README's "## Example" section must have exactly one ts block, found ${programs.length}`);
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const block of blocks.filter((b) => b.lang === 'sh')) {
    for (const line of block.code.split('\n')) {
      const m = /^pulumi config set\s+(--secret\s+)?([\w.:-]+)\s+(.+?)(\s+#.*)?$/.exec(line.trim());
      if (!m) continue;
      const [, secret, key, raw] = m as unknown as [string, string | undefined, string, string];
      const quoted = /^(['"])(.*)\1$/.exec(raw);
      const value = quoted ? quoted[2]! : raw;
      config[key] = raw.includes('$') && quoted?.[1] !== "'" ? `test-value-for-${key.replace(/[^\w-]/g, '-')}` : value;
      if (secret) secretKeys.push(key);
    }
  }
  return { program: programs[0]!.code, config, secretKeys };
}
