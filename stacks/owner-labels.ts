/**
 * Labels that say which instance owns an object, on every Kubernetes object a stack registers
 * (its own metadata only: selectors and pod templates are never touched, since selectors
 * cannot change). The provider asks for them where Lookout shares a cluster it does not own,
 * so preflight can tell its namespaces from others' and a destroy can be proven complete.
 */
import * as pulumi from '@pulumi/pulumi';

type Metadata = { labels?: pulumi.Input<Record<string, pulumi.Input<string>>>; annotations?: pulumi.Input<Record<string, pulumi.Input<string>>> } & Record<string, unknown>;

/**
 * Every provider process applies under a field manager name of its own; an object an earlier,
 * killed run created is owned by that run's manager, and re-applying it conflicts. The objects
 * are this stack's alone, so its applies take their fields over.
 */
const FORCE = { 'pulumi.com/patchForce': 'true' };

function withLabels(metadata: pulumi.Input<Metadata> | undefined, owner: Record<string, string>): pulumi.Input<Metadata> {
  if (metadata === undefined) return { labels: owner, annotations: FORCE };
  // Plain values stay plain, so previews show the labels rather than an unknown metadata.
  if (isPlain(metadata) && (metadata.labels === undefined || isPlain(metadata.labels)) && (metadata.annotations === undefined || isPlain(metadata.annotations))) {
    return {
      ...metadata,
      labels: { ...(metadata.labels as Record<string, pulumi.Input<string>> | undefined), ...owner },
      annotations: { ...(metadata.annotations as Record<string, pulumi.Input<string>> | undefined), ...FORCE },
    };
  }
  return pulumi
    .output(metadata)
    .apply((m) => ({ ...m, labels: { ...(m.labels as Record<string, string> | undefined), ...owner }, annotations: { ...(m.annotations as Record<string, string> | undefined), ...FORCE } })) as pulumi.Input<Metadata>;
}

function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}

/**
 * Registers the labels for every Kubernetes object of the stack. Patches of objects another
 * stack owns (`…Patch`) are left alone: their labels belong to that stack.
 */
export function registerOwnerLabels(owner: Record<string, string> | undefined): void {
  if (!owner || Object.keys(owner).length === 0) return;
  pulumi.runtime.registerStackTransformation((args) => {
    if (!args.type.startsWith('kubernetes:') || args.type.endsWith('Patch') || args.type.startsWith('kubernetes:yaml') || args.type.startsWith('kubernetes:helm')) {
      return undefined;
    }
    const props = args.props as { metadata?: pulumi.Input<Metadata> };
    return { props: { ...props, metadata: withLabels(props.metadata, owner) }, opts: args.opts };
  });
}
