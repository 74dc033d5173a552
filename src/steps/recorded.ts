/**
 * Outputs that earlier runs recorded in the journal (the cluster endpoint, the load balancer,
 * the certificate fingerprint), for commands that build on an existing instance without
 * redoing those steps: `status --verify` and `tls renew`.
 */
import type { Step } from '../engine/index.js';
import type { Journal } from '../engine/index.js';
import { FailureError } from '../errors.js';

/** The outputs of the most recent done record of `step` in any run, if any. */
export function latestOutputs<T>(journal: Journal | undefined, step: string): T | undefined {
  let best: { at: number; outputs: unknown } | undefined;
  for (const run of journal?.runs ?? []) {
    for (const record of run.steps) {
      if (record.name !== step || record.status !== 'done' || record.outputs === undefined) continue;
      const at = Date.parse(record.finishedAt ?? record.startedAt);
      if (!best || at > best.at) best = { at, outputs: record.outputs };
    }
  }
  return best?.outputs as T | undefined;
}

/**
 * A step that stands for one an earlier run completed: it re-emits those outputs under the
 * same name, so later steps read them as usual. Fails clearly when there are none.
 */
export function recordedStep(journal: Journal | undefined, name: string, what: string): Step {
  return {
    name,
    title: `Read the recorded ${what}`,
    alwaysRun: true,
    async run() {
      const outputs = latestOutputs(journal, name);
      if (outputs === undefined) {
        throw new FailureError(`this instance has no recorded ${what} (step "${name}" never completed)`, {
          hint: 'Finish `lookout create` (run it again to resume) first.',
        });
      }
      return outputs;
    },
  };
}
