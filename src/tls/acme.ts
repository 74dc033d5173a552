/**
 * The instance's ACME account and an acme-client Client for it. The account key is generated
 * once, kept encrypted in the instance's SecretStore, and reused by every later run, so a
 * resumed or repeated command never registers a second account.
 */
import { Client, crypto as acmeCrypto } from 'acme-client';
import { UsageError } from '../errors.js';
import { ACCOUNT_DOES_NOT_EXIST, AcmeError } from './acme-errors.js';
import type { AcmeProblem } from './acme-http.js';
import type { SecretStore } from '../state/secret-store.js';

export const ACME_ACCOUNT_SECRET = 'acme.account';

/** What the SecretStore holds under `acme.account`. */
export interface AcmeAccountRecord {
  /** PKCS#8 PEM of the account's P-256 key. */
  keyPem: string;
  /** Set once the CA has registered the account. */
  url?: string;
  /** The directory the account belongs to; another directory gets another account. */
  directory: string;
}

export interface ExternalAccountBinding {
  kid: string;
  /** Base64url HMAC key from the CA. */
  hmacKey: string;
}

/** How acme-client polls challenges and orders: attempts, and the first and largest pause. */
export interface AcmeBackoff {
  attempts: number;
  minMs: number;
  maxMs: number;
}

/** acme-client's own defaults: polite to Let's Encrypt. */
export const LETS_ENCRYPT_BACKOFF: AcmeBackoff = { attempts: 10, minMs: 5_000, maxMs: 30_000 };
/** For local CAs (pebble in tests and benchmarks), which answer within milliseconds. */
export const LOCAL_CA_BACKOFF: AcmeBackoff = { attempts: 100, minMs: 10, maxMs: 50 };

export interface AcmeSettings {
  directoryUrl: string;
  email?: string;
  externalAccountBinding?: ExternalAccountBinding;
  /** PEM of the CA(s) that sign the ACME server's own HTTPS certificate (private CAs, pebble). */
  caBundlePem?: string;
  backoff?: AcmeBackoff;
  /** Per HTTP request to the CA; 30 s when omitted. */
  requestTimeoutMs?: number;
}

/** The config's `tls.externalAccountBinding`, with the HMAC key read from the variable it names. */
export function externalAccountBindingFromEnv(
  config: { keyId: string; hmacKeyEnv: string } | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ExternalAccountBinding | undefined {
  if (!config) return undefined;
  const hmacKey = env[config.hmacKeyEnv]?.trim();
  if (!hmacKey) {
    throw new UsageError(`tls.externalAccountBinding needs the HMAC key in the environment variable ${config.hmacKeyEnv}, which is not set`, {
      hint: `Set ${config.hmacKeyEnv} to the EAB HMAC key your CA gave you (base64url), then run the command again.`,
    });
  }
  return { kid: config.keyId, hmacKey };
}

export function acmeClient(settings: AcmeSettings, account: AcmeAccountRecord): Client {
  const backoff = settings.backoff ?? LETS_ENCRYPT_BACKOFF;
  return new Client({
    directoryUrl: settings.directoryUrl,
    accountKey: account.keyPem,
    ...(account.url ? { accountUrl: account.url } : {}),
    ...(settings.externalAccountBinding ? { externalAccountBinding: settings.externalAccountBinding } : {}),
    backoffAttempts: backoff.attempts,
    backoffMin: backoff.minMs,
    backoffMax: backoff.maxMs,
  });
}

/** The stored account for this directory, or a new key stored before anything is registered. */
export async function loadOrCreateAccountKey(store: SecretStore, directoryUrl: string): Promise<AcmeAccountRecord> {
  const stored = await store.get<AcmeAccountRecord>(ACME_ACCOUNT_SECRET);
  if (stored && stored.directory === directoryUrl && stored.keyPem) return stored;
  const keyPem = (await acmeCrypto.createPrivateEcdsaKey('P-256')).toString();
  const record: AcmeAccountRecord = { keyPem, directory: directoryUrl };
  // Stored before registering: a run killed right after registration finds the key again, and
  // registering a known key returns the existing account instead of creating one.
  await store.set(ACME_ACCOUNT_SECRET, record);
  return record;
}

/** Remembers the URL the CA gave the stored key's account. */
export async function saveAccountUrl(store: SecretStore, record: AcmeAccountRecord, url: string): Promise<AcmeAccountRecord> {
  const updated: AcmeAccountRecord = { keyPem: record.keyPem, directory: record.directory, url };
  await store.set(ACME_ACCOUNT_SECRET, updated);
  return updated;
}

/** Runs one named acme-client call, mapping its failure to a LookoutError (AcmeError for CA problems). */
export type AcmeCall = <T>(action: string, run: () => Promise<T>, problem?: () => Promise<AcmeProblem | undefined>) => Promise<T>;

export interface OpenedAccount {
  client: Client;
  accountUrl: string;
  /** True when this run registered (or looked up) the account at the CA. */
  registered: boolean;
}

/** A client for the instance's account; the account is registered first if this directory has not seen it. */
export async function openAccount(store: SecretStore, settings: AcmeSettings, call: AcmeCall): Promise<OpenedAccount> {
  const record = await loadOrCreateAccountKey(store, settings.directoryUrl);
  if (record.url) return { client: acmeClient(settings, record), accountUrl: record.url, registered: false };
  return registerAccount(store, settings, call);
}

/**
 * Finds the stored key's account at the CA, or registers it, and stores its URL. Asking first
 * with `onlyReturnExisting` means a run killed right after registering gets that account back.
 */
export async function registerAccount(store: SecretStore, settings: AcmeSettings, call: AcmeCall): Promise<OpenedAccount> {
  const { keyPem, directory } = await loadOrCreateAccountKey(store, settings.directoryUrl);
  const client = acmeClient(settings, { keyPem, directory });
  try {
    await call('look up the ACME account', () => client.createAccount({ onlyReturnExisting: true }));
  } catch (err) {
    if (!(err instanceof AcmeError) || err.problemType !== ACCOUNT_DOES_NOT_EXIST) throw err;
    await call('register the ACME account', () =>
      client.createAccount({
        // Lookout registers on behalf of the user, who chose this CA in the config (tls.acmeDirectory).
        termsOfServiceAgreed: true,
        ...(settings.email ? { contact: [`mailto:${settings.email}`] } : {}),
      }),
    );
  }
  const accountUrl = client.getAccountUrl();
  await saveAccountUrl(store, { keyPem, directory }, accountUrl);
  return { client, accountUrl, registered: true };
}
