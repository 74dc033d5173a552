/** `lookout plan <provider> <name> -c file`: the offline plan. */
import { loadConfig } from '../config/load.js';
import { loadProvider } from '../providers/registry.js';
import { buildPlan } from '../plan/plan.js';
import { renderPlan } from '../plan/render.js';
import { printResult } from './output.js';
import { requireProvider } from './provider.js';

export interface PlanOptions {
  provider: string;
  name: string;
  config: string;
  json?: boolean;
}

export async function planCommand(opts: PlanOptions): Promise<void> {
  const providerId = requireProvider(opts.provider, 'plan');
  const config = await loadConfig(opts.config, { provider: providerId, name: opts.name });
  const plan = await buildPlan(config);
  const provider = await loadProvider(providerId);
  printResult(opts, { type: 'result', plan }, () => renderPlan(plan, { costBasis: provider.costBasis }));
}
