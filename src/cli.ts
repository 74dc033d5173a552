/**
 * The `lookout` command line. This module must stay light: it is all that `--help` and
 * `--version` load. Each command's implementation (and with it Pulumi and the cloud SDKs)
 * is imported only when that command runs.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { installExitOnInterrupt } from './engine/interrupt.js';
import { ExitCode, LookoutError, UsageError, errorMessage, isLookoutError } from './errors.js';
import { PROVIDER_IDS } from './providers/registry.js';
import { takePassphraseFromEnvironment } from './pulumi/passphrase.js';
import { DEFAULT_TENANT_PARALLELISM } from './steps/tenant-parallelism.js';
import { escapeForTerminal, jsonLine } from './terminal-text.js';

export interface CommonOptions {
  json?: boolean;
  yes?: boolean;
  state?: string;
  debug?: boolean;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const providerArgument = () => new Argument('<provider>', 'cloud provider').choices(PROVIDER_IDS);
const nameArgument = () => new Argument('<name>', 'instance name (lowercase letters, digits, hyphens)');

/**
 * A command that can ask for confirmation must be able to ask: without a terminal (CI, a
 * pipe) or with --json, the user says --yes up front. Checked before the command runs at all.
 */
function requireConfirmationPossible(cmd: Command): void {
  const opts = cmd.opts<CommonOptions & { check?: boolean }>();
  // `upgrade --check` changes nothing, so it never asks.
  if (opts.yes || opts.check) return;
  if (opts.json || !process.stdin.isTTY) {
    throw new UsageError(`${cmd.parent?.name() === 'lookout' ? '' : `${cmd.parent?.name()} `}${cmd.name()} needs confirmation, and there is no terminal to ask on`, {
      hint: 'Pass --yes to confirm up front.',
    });
  }
}

function common(cmd: Command, which: { yes?: boolean; state?: boolean } = {}): Command {
  cmd.option('--json', 'print one JSON event per line instead of human output');
  if (which.yes) {
    cmd.option('--yes', 'do not ask for confirmation (required without a terminal)');
    cmd.hook('preAction', (_command, action) => requireConfirmationPossible(action));
  }
  if (which.state) {
    cmd.option('--state <url>', 'state backend: s3://bucket/prefix or gs://bucket/prefix (default: ~/.lookout/<name>/)');
  }
  cmd.option('--debug', 'show stack traces and engine logs on errors');
  return cmd;
}

export function buildProgram(): Command {
  const program = new Command('lookout')
    .description('Install and run an observability platform (metrics, logs, Grafana, alerting) in your own cloud account.')
    .version(version(), '-v, --version')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: () => {} })
    .exitOverride();

  common(
    program
      .command('plan')
      .description('show what `create` would build, offline: no credentials, no engine, nothing created')
      .addArgument(providerArgument())
      .addArgument(nameArgument())
      .requiredOption('-c, --config <file>', 'the lookout.yaml to plan')
      .option('--render <dir>', 'also write every Kubernetes manifest and config file the stacks generate into <dir> (secrets redacted)'),
  ).action(async (provider: string, name: string, opts) => {
    const { planCommand } = await import('./commands/plan.js');
    await planCommand({ provider, name, ...opts });
  });

  common(
    program
      .command('create')
      .description('create an instance: infrastructure, certificate, platform, tenants, then verify it (resumable)')
      .addArgument(providerArgument())
      .addArgument(nameArgument())
      .requiredOption('-c, --config <file>', 'the lookout.yaml to create')
      .option('--parallel <n>', `tenant stacks to install at the same time, 1 to 16 (default ${DEFAULT_TENANT_PARALLELISM}, fewer when memory is short)`),
    { yes: true, state: true },
  ).action(async (provider: string, name: string, opts) => {
    const { createCommand } = await import('./commands/create.js');
    await createCommand({ provider, name, ...opts });
  });

  common(
    program
      .command('upgrade')
      .description('apply config changes and bundle upgrades after showing them, then verify (resumable)')
      .addArgument(nameArgument())
      .option('-c, --config <file>', 'the changed lookout.yaml (default: the config recorded at create)')
      .option('--to <version>', 'bundle version to upgrade to')
      .option('--check', 'change nothing; exit 0 when nothing is pending, 3 when a newer bundle or a config change is')
      .option('--parallel <n>', `tenant stacks to install at the same time, 1 to 16 (default ${DEFAULT_TENANT_PARALLELISM}, fewer when memory is short)`),
    { yes: true, state: true },
  ).action(async (name: string, opts) => {
    const { upgradeCommand } = await import('./commands/upgrade.js');
    await upgradeCommand({ name, ...opts });
  });

  common(
    program
      .command('destroy')
      .description('remove everything the instance created (resumable); data buckets are kept')
      .addArgument(nameArgument())
      .option('--delete-data', 'also empty and delete the data buckets')
      .option('--parallel <n>', `tenant stacks to remove at the same time, 1 to 16 (default ${DEFAULT_TENANT_PARALLELISM}, fewer when memory is short)`),
    { yes: true, state: true },
  ).action(async (name: string, opts) => {
    const { destroyCommand } = await import('./commands/destroy.js');
    await destroyCommand({ name, ...opts });
  });

  common(
    program
      .command('status')
      .description('show the bundle, certificate expiry, endpoints and the journal of an instance')
      .addArgument(nameArgument())
      .option('--verify', 'also run the verify probe against every tenant now (needs credentials and the passphrase)')
      .option('--show-tokens', "print every tenant's API tokens (secrets)"),
    { state: true },
  ).action(async (name: string, opts) => {
    const { statusCommand } = await import('./commands/status.js');
    await statusCommand({ name, ...opts });
  });

  common(
    program.command('list').description('list the instances known on this machine (and in the --state bucket): provider, region, bundle, created, last run'),
    { state: true },
  ).action(async (opts) => {
    const { listCommand } = await import('./commands/list.js');
    await listCommand(opts);
  });

  const tls = program.command('tls').description('manage the instance certificate');
  common(
    tls
      .command('renew')
      .description('renew the certificate if two thirds of its lifetime have passed (or now, with --force), then roll the gateway')
      .addArgument(nameArgument())
      .option('--force', 'renew now, even if the certificate is still fresh'),
    { yes: true, state: true },
  ).action(async (name: string, opts) => {
    const { tlsRenewCommand } = await import('./commands/tls.js');
    await tlsRenewCommand({ name, ...opts });
  });

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  const instanceArgument = () => new Argument('<instance>', 'instance name');
  const tenant = program.command('tenant').description('add, remove and list tenants (edits the -c file, applies only that tenant)');
  common(
    tenant
      .command('add')
      .description("add a tenant to the -c file and install it: that tenant's stack and the stores' limits, nothing else")
      .addArgument(instanceArgument())
      .argument('<tenant>', 'tenant name (a DNS label)')
      .requiredOption('-c, --config <file>', 'the lookout.yaml to edit (comments and layout are kept)')
      .option('--token <name[:scope]>', 'a token to create (repeatable; scope write, read, admin or all)', collect)
      .option('--allowed-cidr <cidr>', "an IPv4 CIDR that may call the tenant's APIs (repeatable; replaces gateway.allowedCidrs)", collect),
    { yes: true, state: true },
  ).action(async (instance: string, name: string, opts) => {
    const { tenantAddCommand } = await import('./commands/tenants.js');
    await tenantAddCommand({ instance, tenant: name, ...opts });
  });
  common(
    tenant
      .command('remove')
      .description('remove a tenant from the -c file and uninstall it, after saying what stops working')
      .addArgument(instanceArgument())
      .argument('<tenant>', 'tenant name')
      .requiredOption('-c, --config <file>', 'the lookout.yaml to edit')
      .option('--delete-data', "also delete the tenant's data from the buckets, by its id's prefixes (resumable)"),
    { yes: true, state: true },
  ).action(async (instance: string, name: string, opts) => {
    const { tenantRemoveCommand } = await import('./commands/tenants.js');
    await tenantRemoveCommand({ instance, tenant: name, ...opts });
  });
  common(
    tenant
      .command('list')
      .description("show each tenant's endpoints, retention, limits and tokens (names, scopes, dates; never values)")
      .addArgument(instanceArgument())
      .argument('[tenant]', 'only this tenant'),
    { state: true },
  ).action(async (instance: string, name: string | undefined, opts) => {
    const { tenantListCommand } = await import('./commands/tenants.js');
    await tenantListCommand({ instance, ...(name ? { tenant: name } : {}), ...opts });
  });

  const token = program.command('token').description("create, revoke and list a tenant's API tokens (edits the -c file, touches only the gateway's token map)");
  common(
    token
      .command('create')
      .description('add a token to the -c file, install it, and print it once')
      .addArgument(instanceArgument())
      .argument('<tenant>', 'tenant name')
      .argument('<name>', 'token name')
      .requiredOption('-c, --config <file>', 'the lookout.yaml to edit')
      .option('--scope <scope>', 'write (push), read (queries, Grafana), admin (rules, Alertmanager config) or all', 'all')
      .option('--expires-in-days <days>', 'days until the gateway refuses it'),
    { yes: true, state: true },
  ).action(async (instance: string, name: string, tokenName: string, opts) => {
    const { tokenCreateCommand } = await import('./commands/tenants.js');
    await tokenCreateCommand({ instance, tenant: name, token: tokenName, ...opts });
  });
  common(
    token
      .command('revoke')
      .description('remove a token from the -c file; the gateway refuses it within seconds')
      .addArgument(instanceArgument())
      .argument('<tenant>', 'tenant name')
      .argument('<name>', 'token name')
      .requiredOption('-c, --config <file>', 'the lookout.yaml to edit'),
    { yes: true, state: true },
  ).action(async (instance: string, name: string, tokenName: string, opts) => {
    const { tokenRevokeCommand } = await import('./commands/tenants.js');
    await tokenRevokeCommand({ instance, tenant: name, token: tokenName, ...opts });
  });
  common(
    token
      .command('list')
      .description("list a tenant's tokens: name, scope, created, expiry (values only with --show-tokens)")
      .addArgument(instanceArgument())
      .argument('<tenant>', 'tenant name')
      .option('--show-tokens', 'also print the token values (secrets)'),
    { state: true },
  ).action(async (instance: string, name: string, opts) => {
    const { tokenListCommand } = await import('./commands/tenants.js');
    await tokenListCommand({ instance, tenant: name, ...opts });
  });

  const config = program.command('config').description('inspect and validate lookout.yaml');
  common(config.command('schema').description('print the JSON Schema of lookout.yaml (for editor completion)')).action(
    async (opts: CommonOptions) => {
      const { printConfigSchema } = await import('./commands/config.js');
      printConfigSchema(opts);
    },
  );
  common(
    config
      .command('validate')
      .description('validate a config file without touching the cloud')
      .addArgument(providerArgument())
      .addArgument(nameArgument())
      .requiredOption('-c, --config <file>', 'the lookout.yaml to validate'),
  ).action(async (provider: string, name: string, opts) => {
    const { validateConfigCommand } = await import('./commands/config.js');
    await validateConfigCommand({ provider, name, ...opts });
  });

  // The exec credential plugin of the kubeconfig Lookout's own Pulumi programs use (so
  // creating an instance needs no cloud CLI). Not for people: hidden from help. Its flags
  // are the provider's, which parses them itself.
  program
    .command('kube-token', { hidden: true })
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { kubeTokenCommand } = await import('./commands/kube-token.js');
      await kubeTokenCommand(args);
    });

  program.addOption(new Option('--no-color', 'disable colors').hideHelp());
  return program;
}

/** Commander reports usage errors by throwing; translate them to our exit code 2. */
function fromCommander(err: CommanderError): LookoutError | undefined {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
    return undefined;
  }
  const message = err.message.replace(/^error: /, '');
  return new UsageError(message, { hint: 'Run `lookout --help` or `lookout <command> --help` for usage.' });
}

export function printError(err: unknown, opts: { debug: boolean; json: boolean }): ExitCode {
  const lookoutError = isLookoutError(err) ? err : undefined;
  const exitCode = lookoutError?.exitCode ?? ExitCode.failure;
  if (opts.json) {
    process.stdout.write(jsonLine({ time: new Date().toISOString(), type: 'error', exitCode, message: errorMessage(err), hint: lookoutError?.hint }));
  }
  // Messages quote what the user wrote (values, keys, file names): never raw to the terminal.
  process.stderr.write(`error: ${escapeForTerminal(errorMessage(err))}\n`);
  if (lookoutError?.hint) process.stderr.write(`hint: ${escapeForTerminal(lookoutError.hint)}\n`);
  if (opts.debug) {
    let e: unknown = err;
    while (e instanceof Error) {
      process.stderr.write(`${escapeForTerminal(e.stack ?? e.message)}\n`);
      e = e.cause;
      if (e) process.stderr.write('caused by: ');
    }
  } else if (!lookoutError) {
    process.stderr.write('hint: this is unexpected; run again with --debug for details and report it.\n');
  }
  return exitCode;
}

export async function main(argv: string[]): Promise<void> {
  // First of all, so that SIGINT and SIGTERM are handled (exit 130) whatever runs next.
  installExitOnInterrupt();
  // Before anything can start a child process: none of them may inherit the passphrase.
  takePassphraseFromEnvironment();
  // The AWS SDK warns on every run that its 2027 releases will need Node 22. Lookout pins
  // its SDK versions, so the warning is not actionable mid-command; the README says it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const debug = argv.includes('--debug');
  // Read by code far from the command line (the offline plan keeps stack traces with it).
  if (debug) process.env.LOOKOUT_DEBUG = '1';
  const json = argv.includes('--json');
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const translated = err instanceof CommanderError ? fromCommander(err) : err;
    if (translated === undefined) {
      process.exitCode = ExitCode.ok;
      return;
    }
    process.exitCode = printError(translated, { debug, json });
  }
}
