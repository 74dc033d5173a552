/**
 * Runs the plan in a worker thread and returns the number of resources each stack registers.
 * Pulumi's runtime is process-global, so the mock run must not share a thread with the
 * Automation API's inline programs; a worker has its own module instances.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { ResolvedConfig } from '../config/load.js';
import { FailureError } from '../errors.js';

type WorkerReply = { ok: true; counts: Record<string, number> } | { ok: false; message: string };

if (!isMainThread && parentPort && (workerData as { lookoutPlanCounts?: boolean })?.lookoutPlanCounts) {
  const port = parentPort;
  const { buildPlan } = await import('./plan.js');
  try {
    const plan = await buildPlan((workerData as { config: ResolvedConfig }).config);
    const reply: WorkerReply = { ok: true, counts: Object.fromEntries(plan.stacks.map((s) => [s.stack, s.resourceCount])) };
    port.postMessage(reply);
  } catch (err) {
    port.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
  }
}

/**
 * Resource counts per stack name. Running the programs offline first also proves they
 * evaluate for this config before anything touches the cloud.
 */
export function expectedResourceCounts(config: ResolvedConfig): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { lookoutPlanCounts: true, config } });
    worker.once('message', (reply: WorkerReply) => {
      void worker.terminate();
      if (reply.ok) resolve(reply.counts);
      else reject(new FailureError(`the stack programs failed to evaluate offline: ${reply.message}`));
    });
    worker.once('error', (err) => reject(new FailureError(`the offline plan failed: ${err.message}`, { cause: err })));
  });
}
