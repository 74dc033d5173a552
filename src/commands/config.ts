/** `lookout config schema` and `lookout config validate <provider> <name> -c file`. */
import { configJsonSchema } from '../config/json-schema.js';
import { loadConfig, type ResolvedConfig } from '../config/load.js';
import type { Provider } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { assertProviderSupported } from './provider.js';

export interface ValidateConfigOptions {
  provider: string;
  name: string;
  config: string;
  json?: boolean;
}

export function printConfigSchema(): void {
  process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
}

function asProvider(provider: string): Provider {
  if (provider === 'aws' || provider === 'gcp') return provider;
  throw new UsageError(`the <provider> argument must be aws or gcp, found ${JSON.stringify(provider)}`);
}

/** A few lines that show the file was read as intended. */
export function summarizeConfig(file: string, config: ResolvedConfig): string {
  const rows: Array<[string, string]> = [
    ['instance', config.name],
    ['provider', config.provider],
  ];
  if (config.aws) {
    rows.push(['region', config.aws.region]);
    rows.push(['zones', `${config.aws.availabilityZones} availability zones, NAT ${config.aws.natGateways}`]);
    rows.push(['nodes', `${config.aws.nodes.desired} × ${config.aws.nodes.instanceType} (min ${config.aws.nodes.min}, max ${config.aws.nodes.max})`]);
  }
  rows.push(['bundle', config.bundle]);
  rows.push(['domain', config.dns.domain]);
  const tenants = config.tenants.map((t) => t.name);
  rows.push(['tenants', [...tenants, 'system (built in)'].join(', ')]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`${file} is valid.`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n') + '\n';
}

export async function validateConfigCommand(opts: ValidateConfigOptions): Promise<void> {
  const provider = asProvider(opts.provider);
  assertProviderSupported(provider, 'config validate');
  const config = await loadConfig(opts.config, { provider, name: opts.name });
  if (opts.json) {
    process.stdout.write(JSON.stringify({ time: new Date().toISOString(), type: 'result', valid: true, config }) + '\n');
  } else {
    process.stdout.write(summarizeConfig(opts.config, config));
  }
}
