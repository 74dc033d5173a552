/** `lookout plan <provider> <name> -c file`: the offline plan. */
import { checkBeforeCloud } from '../config/checks.js';
import { loadConfig } from '../config/load.js';
import { loadProvider } from '../providers/registry.js';
import { escapeForTerminal } from '../terminal-text.js';
import { buildPlanWithResources } from '../plan/plan.js';
import { renderPlan } from '../plan/render.js';
import { printResult } from './output.js';
import { requireProvider } from './provider.js';

export interface PlanOptions {
  provider: string;
  name: string;
  config: string;
  json?: boolean;
  /** Also write every manifest and config file the stacks generate into this directory. */
  render?: string;
}

export async function planCommand(opts: PlanOptions): Promise<void> {
  const providerId = requireProvider(opts.provider);
  const config = await loadConfig(opts.config, { provider: providerId, name: opts.name });
  const warnings = await checkBeforeCloud(config, { file: opts.config, purpose: 'plan' });
  if (!opts.json) for (const w of warnings) process.stderr.write(`warning: ${escapeForTerminal(w)}\n`);
  // On a terminal the few seconds of program runs show as spinners; piped or --json, the
  // output stays the result alone.
  const { chooseOutputMode, createReporter } = await import('../progress/reporters.js');
  const reporter = chooseOutputMode(opts) === 'tty' ? await createReporter('tty') : undefined;
  let built;
  try {
    built = await buildPlanWithResources(config, reporter);
  } finally {
    reporter?.close();
  }
  const { plan, runs } = built;
  const provider = await loadProvider(providerId);
  let rendered: { dir: string; manifests: number; files: number } | undefined;
  if (opts.render !== undefined) {
    const [{ renderPlanFiles }, { writeRenderedFiles }] = await Promise.all([import('../plan/render-files.js'), import('../plan/write-render.js')]);
    const files = renderPlanFiles(runs);
    writeRenderedFiles(opts.render, files, { instance: plan.instance, provider: plan.provider, bundle: plan.bundle });
    rendered = {
      dir: opts.render,
      manifests: files.filter((f) => f.path.includes('/manifests/')).length,
      files: files.filter((f) => f.path.includes('/files/')).length,
    };
  }
  printResult(opts, { type: 'result', warnings, plan, ...(rendered ? { rendered } : {}) }, () => {
    const text = renderPlan(plan, { costBasis: provider.costBasis });
    if (!rendered) return text;
    return `${text}\nRendered ${rendered.manifests} Kubernetes manifests and ${rendered.files} config files into ${rendered.dir} (secrets redacted).\n`;
  });
}
