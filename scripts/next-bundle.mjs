#!/usr/bin/env node
// `npm run bundle:next [-- <version>]`: creates bundles/<version>.json (default: next month's)
// from the newest bundle, for a person to edit (docs/releasing.md). `--check` only checks that
// the shipped bundles chain. Refuses, changing nothing, when they do not.
import { fileURLToPath } from 'node:url';
import { chainProblems, createNextBundle, readBundles } from './bundles-lib.mjs';

const dir = fileURLToPath(new URL('../bundles/', import.meta.url));
const args = process.argv.slice(2);
try {
  if (args.includes('--check')) {
    const problems = chainProblems(readBundles(dir));
    if (problems.length) throw new Error(`the bundles do not chain:\n  ${problems.join('\n  ')}`);
    console.log('bundles chain: ' + readBundles(dir).map((b) => b.manifest.version).join(' → '));
  } else {
    if (args.length > 1 || args[0]?.startsWith('-')) throw new Error('usage: npm run bundle:next [-- <version>] | npm run bundle:next -- --check');
    const created = createNextBundle(dir, { version: args[0], released: new Date().toISOString().slice(0, 10) });
    console.log(`created ${created.path} (previous: ${created.previous}); now edit it as docs/releasing.md says`);
  }
} catch (err) {
  console.error(`error: ${err.message}`);
  process.exitCode = 2;
}
