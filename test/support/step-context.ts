/** A StepContext for running one step by hand in a unit test: given outputs, logs collected. */
import type { StepContext } from '../../src/engine/index.js';

export function testStepContext(command: string, outputs: Record<string, unknown> = {}): StepContext & { logged: string[] } {
  const logged: string[] = [];
  return {
    instance: 'demo',
    command,
    runId: 'r1',
    signal: new AbortController().signal,
    idempotencyKey: 'r1:step',
    outputsOf: <T>(step: string) => {
      if (!(step in outputs)) throw new Error(`the test gave no outputs of step ${step}`);
      return outputs[step] as T;
    },
    progress: () => {},
    log: (level, message) => logged.push(`${level} ${message}`),
    logged,
  };
}
