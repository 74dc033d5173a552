/**
 * Tenant stacks made before the CLI generated credentials held `@pulumi/random` resources.
 * Their values are adopted into the secret store first (src/tenants/credentials.ts); then they
 * are dropped from the state, with their provider, without the random provider plugin, which
 * an update that deletes them would need. Idempotent: a stack without them is left alone.
 */
import type { StackHandle } from '../pulumi/workspace.js';

/** Whether a state resource belongs to the random provider. */
export function isRandomResource(type: string): boolean {
  return type.startsWith('random:') || type === 'pulumi:providers:random';
}

/** Drops every random resource (providers last) from the stack's state; returns how many. */
export async function forgetRandomResources(stack: StackHandle, signal?: AbortSignal): Promise<number> {
  await stack.prepare(signal);
  const urns = stack
    .resources()
    .filter((r) => isRandomResource(r.type))
    // Resources before their provider: a provider with dependents cannot be dropped.
    .sort((a, b) => Number(a.type.startsWith('pulumi:providers:')) - Number(b.type.startsWith('pulumi:providers:')))
    .map((r) => r.urn);
  await stack.forget(urns, signal);
  return urns.length;
}
