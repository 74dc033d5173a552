/** `lookout config schema` and `lookout config validate <provider> <name> -c file`. */
import { checkBeforeCloud } from '../config/checks.js';
import { configJsonSchema } from '../config/json-schema.js';
import { loadConfig, type ResolvedConfig } from '../config/load.js';
import { providerSettings } from '../config/provider-blocks.js';
import { escapeForTerminal } from '../terminal-text.js';
import { printResult } from './output.js';
import { requireProvider } from './provider.js';

export interface ValidateConfigOptions {
  provider: string;
  name: string;
  config: string;
  json?: boolean;
}

/** The schema as a document, or under --json as one result event like every command's. */
export function printConfigSchema(opts: { json?: boolean } = {}): void {
  const schema = configJsonSchema();
  printResult(opts, { type: 'result', schema }, () => JSON.stringify(schema, null, 2) + '\n');
}

/** A few lines that show the file was read as intended. */
export function summarizeConfig(file: string, config: ResolvedConfig): string {
  const rows: Array<[string, string]> = [
    ['instance', config.name],
    ['provider', config.provider],
  ];
  const chosen = providerSettings(config);
  if (chosen) rows.push(...chosen.block.summary(chosen.settings as never));
  rows.push(['bundle', config.bundle]);
  rows.push(['domain', config.dns.domain]);
  const tenants = config.tenants.map((t) => t.name);
  rows.push(['tenants', [...tenants, 'system (built in)'].join(', ')]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`${file} is valid.`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n') + '\n';
}

export async function validateConfigCommand(opts: ValidateConfigOptions): Promise<void> {
  const provider = requireProvider(opts.provider);
  const config = await loadConfig(opts.config, { provider, name: opts.name });
  const warnings = await checkBeforeCloud(config, { file: opts.config, purpose: 'validate' });
  if (!opts.json) for (const w of warnings) process.stderr.write(`warning: ${escapeForTerminal(w)}\n`);
  printResult(opts, { type: 'result', valid: true, warnings, config }, () => summarizeConfig(opts.config, config));
}
