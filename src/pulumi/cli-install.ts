/**
 * Finds the Pulumi CLI the Automation API drives: a `pulumi` on PATH when it is new enough,
 * else a copy Lookout installed earlier, else a pinned install under ~/.lookout/pulumi.
 */
import { createRequire } from 'node:module';
import { PulumiCommand, type PulumiCommandOptions } from '@pulumi/pulumi/automation/index.js';
import { FailureError, InterruptedError, errorMessage } from '../errors.js';
import { pulumiInstallRoot } from '../paths.js';
import type { Reporter } from '../progress/events.js';
import { abortable } from '../abortable.js';

const require = createRequire(import.meta.url);

type SemVer = NonNullable<PulumiCommandOptions['version']>;
/**
 * PulumiCommand wants a SemVer instance. semver is not a dependency of Lookout, so take the
 * class from the copy @pulumi/pulumi itself resolves, which is the one it compares against.
 */
const SemVerClass = createRequire(require.resolve('@pulumi/pulumi/package.json'))('semver').SemVer as new (
  version: string,
) => SemVer;

/** The CLI version Lookout installs: the one its Automation SDK was released with. */
export const PINNED_PULUMI_VERSION: string = (require('@pulumi/pulumi/package.json') as { version: string }).version;

/**
 * The oldest CLI on PATH Lookout accepts. The SDK refuses refresh and destroy of inline
 * programs on CLIs older than 3.181.0 (they lack `--client`); see `checkInlineSupport` in
 * @pulumi/pulumi/automation/stack.js.
 */
export const MIN_PULUMI_VERSION = '3.181.0';

/** The two static methods of PulumiCommand this module uses; tests substitute them. */
export interface PulumiCommandSource {
  get(opts?: PulumiCommandOptions): Promise<PulumiCommand>;
  install(opts?: PulumiCommandOptions): Promise<PulumiCommand>;
}

export interface EnsurePulumiOptions {
  reporter: Reporter;
  signal?: AbortSignal;
  /** Attributes progress to this step; without it, progress is reported as log lines. */
  step?: string;
  source?: PulumiCommandSource;
  installRoot?: string;
}

export async function ensurePulumiCommand(o: EnsurePulumiOptions): Promise<PulumiCommand> {
  const source = o.source ?? PulumiCommand;
  const root = o.installRoot ?? pulumiInstallRoot();
  const say = (message: string) =>
    o.step
      ? o.reporter.emit({ type: 'step-progress', step: o.step, message })
      : o.reporter.emit({ type: 'log', level: 'info', message });
  throwIfAborted(o.signal);

  let pathProblem: string;
  try {
    const onPath = await source.get({ version: new SemVerClass(MIN_PULUMI_VERSION) });
    say(`Using Pulumi CLI ${onPath.version ?? '(unknown version)'} from PATH.`);
    return onPath;
  } catch (err) {
    pathProblem = /ENOENT|not found/i.test(errorMessage(err))
      ? 'no `pulumi` on PATH'
      : `the \`pulumi\` on PATH is not usable (${firstLine(errorMessage(err))})`;
  }
  throwIfAborted(o.signal);

  const pinned = new SemVerClass(PINNED_PULUMI_VERSION);
  try {
    const installed = await source.get({ root, version: pinned });
    say(`Using Pulumi CLI ${installed.version ?? PINNED_PULUMI_VERSION} from ${root}.`);
    return installed;
  } catch {
    // Not installed yet, or an older pin: install below.
  }
  throwIfAborted(o.signal);

  say(`Installing Pulumi CLI ${PINNED_PULUMI_VERSION} into ${root} (${pathProblem}; one-time download).`);
  try {
    return await abortable(source.install({ root, version: pinned }), o.signal, 'install the Pulumi CLI');
  } catch (err) {
    if (err instanceof InterruptedError) throw err;
    throw new FailureError(`Could not install the Pulumi CLI ${PINNED_PULUMI_VERSION} into ${root}: ${firstLine(errorMessage(err))}`, {
      hint:
        `Install Pulumi yourself (https://www.pulumi.com/docs/install/) so that \`pulumi\` ${MIN_PULUMI_VERSION} or newer is ` +
        'on PATH, or check the network connection and proxy settings (the installer downloads from get.pulumi.com), ' +
        'then run the command again.',
      cause: err,
    });
  }
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? text;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new InterruptedError('Interrupted while looking for the Pulumi CLI.');
}

