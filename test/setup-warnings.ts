/**
 * In every test file: a MaxListenersExceededWarning is a listener leak (the signal or emitter
 * keeps a listener per wait and never drops it), so it fails the file instead of scrolling by.
 */
import { afterAll, expect } from 'vitest';

const leaks: string[] = [];
process.on('warning', (warning) => {
  if (warning.name === 'MaxListenersExceededWarning') leaks.push(`${warning.message}\n${warning.stack ?? ''}`);
});

afterAll(async () => {
  // Warnings are emitted on the next tick; let the last ones arrive.
  await new Promise((resolve) => setImmediate(resolve));
  expect(leaks, 'listener leaks (MaxListenersExceededWarning)').toEqual([]);
});
