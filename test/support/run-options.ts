import { join } from 'node:path';
import type { RunOptions, Step } from '../../src/engine/index.js';
import { silentReporter } from '../../src/progress/events.js';

/** Options for runSteps on instance `prod`, with the journal and lock as files in `dir`. */
export function fileRunOptions(dir: string, steps: Step[], extra: Partial<RunOptions> = {}): RunOptions {
  return {
    instance: 'prod',
    command: 'create',
    steps,
    journalPath: join(dir, 'journal.json'),
    lockPath: join(dir, 'lock.json'),
    reporter: silentReporter,
    resume: 'always',
    ...extra,
  } as RunOptions;
}
