/**
 * Provider plugins for inline programs. The Pulumi CLI asks the language host which plugins
 * a program needs before it starts; for an inline program that host is the Automation API's
 * own server, which answers with an empty list (`getRequiredPlugins` in
 * @pulumi/pulumi/automation/server.js; pulumi/pulumi#5080: inline programs bypass plugin
 * acquisition). The engine can still fetch a missing provider on demand once a resource
 * asks for it (pulumi/pulumi#5619), but that happens in the middle of an update, after state
 * has been touched. Installing the exact versions of the installed provider packages before
 * the first operation fails early, with a clear message, and is a no-op once installed.
 */
import { createRequire } from 'node:module';
import type { Reporter } from '../progress/events.js';

const require = createRequire(import.meta.url);

export interface PluginSpec {
  name: string;
  version: string;
  /** Where to download from, when the provider is not on Pulumi's default server. */
  server?: string;
}

/** The provider packages every Lookout stack may use; each cloud adds its own (CloudProvider.pulumiPackages). */
export const KUBERNETES_PACKAGES = ['@pulumi/kubernetes'] as const;

/**
 * The plugin a provider package needs, from the `pulumi` field of its package.json: the
 * same metadata the Node.js language host reads for programs run by the CLI.
 */
export function pluginOfPackage(packageName: string, load: (path: string) => unknown = require): PluginSpec {
  const pkg = load(`${packageName}/package.json`) as {
    version?: string;
    pulumi?: { resource?: boolean; name?: string; version?: string; server?: string };
  };
  const name = pkg.pulumi?.name ?? packageName.replace(/^@pulumi\//, '');
  const version = pkg.pulumi?.version ?? pkg.version;
  if (!pkg.pulumi?.resource || !version) {
    throw new Error(`${packageName} does not declare a Pulumi resource plugin in its package.json`);
  }
  return { name, version, ...(pkg.pulumi.server ? { server: pkg.pulumi.server } : {}) };
}

export interface PluginInstaller {
  installPlugin(name: string, version: string, kind?: string): Promise<void>;
  installPluginFromServer(name: string, version: string, server: string): Promise<void>;
}

export async function installPlugins(
  ws: PluginInstaller,
  plugins: readonly PluginSpec[],
  o: { reporter: Reporter; step?: string; signal?: AbortSignal },
): Promise<void> {
  for (const p of plugins) {
    if (o.signal?.aborted) return;
    if (o.step) o.reporter.emit({ type: 'step-progress', step: o.step, message: `installing the ${p.name} ${p.version} provider plugin` });
    const version = `v${p.version}`;
    if (p.server) await ws.installPluginFromServer(p.name, version, p.server);
    else await ws.installPlugin(p.name, version, 'resource');
  }
}
