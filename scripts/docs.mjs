#!/usr/bin/env node
// `npm run docs`: regenerates the README's config reference from the schema (after a build).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { replaceConfigReference } = await import(`${root}dist/src/config/reference.js`);
const path = `${root}README.md`;
const before = readFileSync(path, 'utf8');
const after = replaceConfigReference(before);
if (after !== before) {
  writeFileSync(path, after);
  console.log('README.md: config reference updated');
} else {
  console.log('README.md: config reference already up to date');
}
