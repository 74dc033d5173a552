/**
 * How Pulumi marks a value that is not plain data (a secret, an asset, an archive, a resource
 * reference) wherever it serializes one: an object whose `SIG_KEY` holds the kind's signature
 * (sdk/go/common/resource/sig). In a program's registrations a secret carries `value`; in an
 * exported state, `plaintext` (with `--show-secrets`) or `ciphertext`.
 */
export const SIG_KEY = '4dabf18193072939515e22adb298388d';
export const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

/** Whether `value` is one of those marked objects. */
export function isSpecialValue(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && SIG_KEY in value;
}

/** Whether `value` is a marked secret. */
export function isSecretEnvelope(value: unknown): value is Record<string, unknown> {
  return isSpecialValue(value) && value[SIG_KEY] === SECRET_SIG;
}
