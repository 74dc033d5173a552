/**
 * Provider plugins for inline programs. The Pulumi CLI asks the language host which plugins
 * a program needs before it starts; for an inline program that host is the Automation API's
 * own server, which answers with an empty list (`getRequiredPlugins` in
 * @pulumi/pulumi/automation/server.js; pulumi/pulumi#5080: inline programs bypass plugin
 * acquisition). The engine can still fetch a missing provider on demand once a resource
 * asks for it (pulumi/pulumi#5619), but that happens in the middle of an update, after state
 * has been touched. Installing the exact versions of the installed provider packages before
 * the first operation fails early, with a clear message; see installPlugins for what it
 * costs once they are installed.
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
  /** `pulumi plugin ls --json`. */
  listPlugins(): Promise<ReadonlyArray<{ name: string; kind: string; version?: string }>>;
  /** The CLI every command of the workspace runs; plugins are cached per CLI and Pulumi home. */
  pulumiCommand: unknown;
  envVars?: Record<string, string>;
  pulumiHome?: string;
}

/**
 * Plugins known to be installed, per CLI and then per Pulumi home and plugin: every stack
 * handle of a command shares one CLI, so a plugin is settled once per process, however many
 * stacks (and parallel tenant steps) need it.
 */
const settled = new WeakMap<object, Map<string, Promise<void>>>();

function pluginsHome(ws: PluginInstaller): string {
  return ws.envVars?.PULUMI_HOME ?? ws.pulumiHome ?? process.env.PULUMI_HOME ?? '';
}

const bare = (version: string | undefined) => (version ?? '').replace(/^v/, '');

/**
 * Makes sure the plugins are installed. `pulumi plugin install` of a plugin that is already
 * there is not free: it first resolves the package against the Pulumi registry over the
 * network, and only then sees the installed copy and skips (7 s per call where that lookup
 * times out, a round trip to the registry elsewhere). So the installed plugins are listed
 * first (`pulumi plugin ls`, local), and only a missing exact version is installed.
 */
export async function installPlugins(
  ws: PluginInstaller,
  plugins: readonly PluginSpec[],
  o: { reporter: Reporter; step?: string; signal?: AbortSignal },
): Promise<void> {
  const key = (ws.pulumiCommand ?? ws) as object;
  let cache = settled.get(key);
  if (!cache) settled.set(key, (cache = new Map()));
  const home = pluginsHome(ws);
  let installed: Promise<ReadonlyArray<{ name: string; kind: string; version?: string }>> | undefined;
  for (const p of plugins) {
    if (o.signal?.aborted) return;
    const id = JSON.stringify([home, p.name, p.version, p.server ?? '']);
    let done = cache.get(id);
    if (!done) {
      done = (async () => {
        // A listing that fails proves nothing is missing either: install, as without it.
        installed ??= ws.listPlugins().catch(() => []);
        const present = (await installed).some((i) => i.kind === 'resource' && i.name === p.name && bare(i.version) === bare(p.version));
        if (present) return;
        if (o.step) o.reporter.emit({ type: 'step-progress', step: o.step, message: `installing the ${p.name} ${p.version} provider plugin` });
        const version = `v${p.version}`;
        if (p.server) await ws.installPluginFromServer(p.name, version, p.server);
        else await ws.installPlugin(p.name, version, 'resource');
      })();
      cache.set(id, done);
      // A failure is not remembered: the next stack (or run) tries again.
      done.catch(() => cache.delete(id));
    }
    await done;
  }
}
