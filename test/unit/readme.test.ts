import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replaceConfigReference } from '../../src/config/reference.js';

const root = new URL('../..', import.meta.url).pathname;
const readme = readFileSync(`${root}README.md`, 'utf8');

describe('README', () => {
  it('has the config reference the schema generates (run `npm run docs` after changing the schema)', () => {
    expect(readme).toBe(replaceConfigReference(readme));
    // The table is really there, with defaults from the schema.
    expect(readme).toMatch(/\| `aws.availabilityZones` \| integer \(2–3\) \| `3` \|/);
  });

  it('shows the two front-door commands, and they name files that exist', () => {
    expect(readme).toContain('npm ci && ./bin/lookout plan aws prod -c examples/aws.yaml');
    expect(readme).toMatch(/^npm test$/m);
    expect(readFileSync(`${root}examples/aws.yaml`, 'utf8')).toMatch(/^name: prod$/m);
  });
});
