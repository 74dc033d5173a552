/**
 * A tenant's entry in the gateway: two keys of the shared `gateway-tenants` Secret, owned by
 * this tenant's stack alone through server-side apply.
 *
 * Ownership is what makes removal work. Each tenant applies its two keys with its own field
 * manager. Deleting the `SecretPatch` (tenant removal) makes the provider re-apply an empty
 * patch with that manager (it "relinquishes" its fields); keys no other manager owns are then
 * removed from the Secret, so the tenant's tokens leave the gateway, and other tenants' keys,
 * owned by their own managers, are untouched. Two consequences:
 * - the keys are written under `data`, never `stringData`: `stringData` is converted to `data`
 *   by the API server, so a manager would own only the virtual `stringData` field and its
 *   `data` key would outlive it (kubernetes/kubernetes#108008);
 * - nobody else may own these keys (the platform stack's Secret must not list them), or they
 *   would survive the tenant.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { renderTenantSecretData, type GatewayToken } from '@lookout/gateway';

/** The field manager that owns this tenant's keys; readable in `managedFields`. */
export function gatewayFieldManager(tenant: string): string {
  return `lookout-tenant-${tenant}`;
}

export interface GatewayEntryArgs {
  tenant: string;
  /** Every token of the tenant, the internal one included (secrets); with a scope and expiry where set. */
  tokens: pulumi.Input<string | GatewayToken>[];
  /** The tenant's id upstream (X-Scope-OrgID); default its name. */
  orgId?: string;
  /** The tenant's own client allow-list (IPv4 CIDRs), replacing the gateway's. */
  allowedCidrs?: string[];
  namespace: string;
  secretName: string;
}

export function gatewayEntry(name: string, args: GatewayEntryArgs, opts: pulumi.CustomResourceOptions): k8s.core.v1.SecretPatch {
  // `tokens-<tenant>.conf` and `tenant-<tenant>.conf`, base64 for `data`, as the gateway renders them.
  const data = pulumi.secret(pulumi.all(args.tokens).apply((tokens) => renderTenantSecretData(args.tenant, tokens, {
        ...(args.orgId ? { orgId: args.orgId } : {}),
        ...(args.allowedCidrs ? { allowedCidrs: args.allowedCidrs } : {}),
      })));
  return new k8s.core.v1.SecretPatch(
    name,
    {
      metadata: {
        name: args.secretName,
        namespace: args.namespace,
        annotations: {
          'pulumi.com/patchFieldManager': gatewayFieldManager(args.tenant),
          // The annotations above are applied to the shared Secret too, and each tenant sets a
          // different manager name there: without force, the second tenant's apply would
          // conflict on that annotation. Force also lets a re-created tenant stack take its
          // keys back from a manager that was lost with the old state.
          'pulumi.com/patchForce': 'true',
        },
      },
      data,
    },
    opts,
  );
}
