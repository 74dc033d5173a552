/** `lookout plan <provider> <name> -c file`: the offline plan. */
import { loadConfig } from '../config/load.js';
import { assertProviderSupported } from './provider.js';
import type { Provider } from '../config/schema.js';
import { buildPlan } from '../plan/plan.js';
import { renderPlan } from '../plan/render.js';
import { printResult } from './output.js';

export interface PlanOptions {
  provider: string;
  name: string;
  config: string;
  json?: boolean;
}

export async function planCommand(opts: PlanOptions): Promise<void> {
  assertProviderSupported(opts.provider, 'plan');
  const config = await loadConfig(opts.config, { provider: opts.provider as Provider, name: opts.name });
  const plan = await buildPlan(config);
  printResult(opts, { type: 'result', plan }, () => renderPlan(plan));
}
