/**
 * Every check that can run before the cloud is touched, in one place. `config validate`,
 * `plan`, and `create`, `upgrade` and `tls renew` (before their first step) all call
 * `checkBeforeCloud`, so a config that one of them accepts does not fail later in a step
 * after the infrastructure exists.
 *
 * What the schema checks (every value, the bundle, DNS and TSIG names, CIDRs and the size of
 * the tenants Secret) has already run when a config is loaded; what is checked here depends on
 * this machine: the environment variables the config names for its secrets, and the files it
 * names. `plan` needs no secrets (it creates nothing), so for `plan` missing or malformed
 * secrets are warnings; everywhere else they are errors (exit 2).
 */
import { X509Certificate } from 'node:crypto';
import { ConfigError, type ConfigIssue } from '../errors.js';
import type { ResolvedConfig } from './load.js';
import { FileReadProblem, readBoundedTextFile } from './read-file.js';
import { providerSettings } from './provider-blocks.js';

export type CheckPurpose = 'validate' | 'plan' | 'apply';

/** The largest CA bundle read; a system's whole trust store is about 220 KiB. */
const MAX_CA_BUNDLE_BYTES = 1024 * 1024;

interface SecretNeed {
  /** The config field that names the variable. */
  field: string;
  variable: string;
  /** What the value must look like, and how to say so; undefined when any non-empty value is fine. */
  format?: { test: RegExp; expected: string };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** The environment variables the config names for secrets. */
export function secretEnvironment(config: ResolvedConfig): SecretNeed[] {
  const keys: Array<[variable: string | undefined, field: string, test: RegExp, expected: string]> = [
    [config.tls.externalAccountBinding?.hmacKeyEnv, 'tls.externalAccountBinding.hmacKeyEnv', BASE64URL, 'the EAB HMAC key in base64url, as the CA gave it'],
    [config.tls.rfc2136?.keySecretEnv, 'tls.rfc2136.keySecretEnv', BASE64, 'the TSIG secret in base64, as `tsig-keygen -a hmac-sha256` prints it'],
  ];
  const needs: SecretNeed[] = keys.flatMap(([variable, field, test, expected]) => (variable ? [{ field, variable, format: { test, expected } }] : []));
  config.tenants.forEach((t, i) => {
    if (t.grafana.oidc) needs.push({ field: `tenants[${i}].grafana.oidc.clientSecretEnv`, variable: t.grafana.oidc.clientSecretEnv });
  });
  const chosen = providerSettings(config);
  needs.push(...(chosen?.block.secretVariables?.(chosen.settings as never) ?? []));
  return needs;
}

/** What is wrong with the variable; never quotes its value. */
function secretProblem(need: SecretNeed, env: NodeJS.ProcessEnv): string | undefined {
  const value = env[need.variable]?.trim();
  if (!value) return `the environment variable ${need.variable} it names is not set`;
  if (need.format && !need.format.test.test(value)) {
    return `the environment variable ${need.variable} it names does not hold ${need.format.expected} (its value is not shown)`;
  }
  return undefined;
}

async function caBundleProblem(path: string): Promise<string | undefined> {
  let pem: string;
  try {
    pem = await readBoundedTextFile(path, MAX_CA_BUNDLE_BYTES);
  } catch (err) {
    return `cannot read ${JSON.stringify(path)}: ${err instanceof FileReadProblem ? err.problem : String(err)}`;
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return `${JSON.stringify(path)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return `certificate ${i + 1} of ${blocks.length} in ${JSON.stringify(path)} cannot be parsed`;
    }
  }
  return undefined;
}

export interface CheckOptions {
  /** The config file, to name it in errors (or a description such as "the recorded config"). */
  file: string;
  purpose: CheckPurpose;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs the checks that depend on this machine; throws a ConfigError (exit 2) listing every
 * problem, or returns the warnings to show.
 */
export async function checkBeforeCloud(config: ResolvedConfig, options: CheckOptions): Promise<string[]> {
  const env = options.env ?? process.env;
  const errors: ConfigIssue[] = [];
  const warnings: string[] = [];

  for (const need of secretEnvironment(config)) {
    const problem = secretProblem(need, env);
    if (!problem) continue;
    if (options.purpose === 'plan') warnings.push(`${need.field}: ${problem}; create will refuse to start until it is`);
    else errors.push({ path: need.field, message: problem });
  }
  if (config.tls.caBundleFile) {
    const problem = await caBundleProblem(config.tls.caBundleFile);
    if (problem) errors.push({ path: 'tls.caBundleFile', message: problem });
  }
  if (errors.length > 0) throw new ConfigError(options.file, errors);

  const chosen = providerSettings(config);
  if (chosen?.block.warnings) warnings.push(...chosen.block.warnings(chosen.settings as never));
  return warnings;
}
