/**
 * StatefulSets whose immutable fields change are replaced: the preview says so, and the
 * update deletes the old StatefulSet before it creates the new one. Never a 422 halfway
 * through an update.
 *
 * The API server refuses any change to a StatefulSet's spec except replicas, ordinals,
 * template, updateStrategy, revisionHistoryLimit, persistentVolumeClaimRetentionPolicy and
 * minReadySeconds. The fields left (selector, serviceName, volumeClaimTemplates,
 * podManagementPolicy) can only change by replacing the object.
 *
 * Why delete-before-replace with the same name, and not a new (suffixed or auto-generated)
 * name created before the old one goes: the name is where the data is. A StatefulSet's
 * volumes are claims named `<template>-<statefulset>-<ordinal>`, and Kubernetes keeps them
 * when the StatefulSet is deleted. Re-created under its own name, every pod gets its own
 * volume back, and the ingesters and Loki's write pods replay their WAL from it. Under a new
 * name they would start on empty volumes, and whatever had not reached the bucket yet (up to
 * two hours of samples) would sit unread on claims nothing mounts. The price is that all
 * pods of that StatefulSet stop together instead of one at a time: clients' retries
 * (remote_write, log shippers) carry the few minutes, and nothing acknowledged is lost.
 * Existing claims are kept as they are: a new size or storage class in the template applies
 * to volumes created from then on (see the upgrade preview).
 *
 * Why the preview needs help: with server-side apply, the Kubernetes provider (4.25) previews
 * the re-creation as a dry-run apply under the same name. That lands on the live object and
 * the API server answers 422, which the provider only recognises as "replace under a
 * preview name" when the message says "field is immutable" (a StatefulSet's does not;
 * pulumi/pulumi-kubernetes#4328). The provider skips that dry run for inputs that are not
 * known yet. So each StatefulSet carries the hash of its immutable fields in an annotation,
 * and in a preview that hash is left unknown exactly when it differs from the deployed one
 * (which the caller reads from the stack's state): the engine shows the replacement, and
 * the update, where the hash is known, applies it.
 */
import * as pulumi from '@pulumi/pulumi';
import { createHash } from 'node:crypto';

export const STATEFUL_SET_TYPE = 'kubernetes:apps/v1:StatefulSet';

/** The spec fields of a StatefulSet the API server never updates in place. */
export const STATEFUL_SET_IMMUTABLE_FIELDS = ['selector', 'serviceName', 'volumeClaimTemplates', 'podManagementPolicy'] as const;

/** The annotation holding the hash of a StatefulSet's immutable fields. */
export const IMMUTABLE_FIELDS_ANNOTATION = 'lookout.dev/immutable-fields';

/** A resource of a stack's state, as `pulumi stack export` lists it. */
export interface DeployedResource {
  type: string;
  inputs?: Record<string, unknown>;
  delete?: boolean;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined && (value as Record<string, unknown>)[k] !== null)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A short hash of a StatefulSet spec's immutable fields (key order and unset fields do not count). */
export function immutableFieldsHash(spec: Record<string, unknown> | undefined): string {
  const picked = Object.fromEntries(STATEFUL_SET_IMMUTABLE_FIELDS.map((f) => [f, spec?.[f]]));
  return createHash('sha256').update(JSON.stringify(canonical(picked))).digest('hex').slice(0, 16);
}

/** `namespace/name` of a Kubernetes object (the API server's `default` when no namespace is set). */
export function objectKey(metadata: { name?: unknown; namespace?: unknown } | undefined): string {
  return `${typeof metadata?.namespace === 'string' && metadata.namespace ? metadata.namespace : 'default'}/${String(metadata?.name)}`;
}

/** The hash of each deployed StatefulSet's immutable fields, by `namespace/name`, from a stack's state. */
export function deployedImmutableFields(resources: readonly DeployedResource[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const r of resources) {
    if (r.type !== STATEFUL_SET_TYPE || r.delete || !r.inputs) continue;
    const inputs = r.inputs as { metadata?: { name?: unknown; namespace?: unknown }; spec?: Record<string, unknown> };
    found.set(objectKey(inputs.metadata), immutableFieldsHash(inputs.spec));
  }
  return found;
}

type Metadata = { name?: pulumi.Input<string>; namespace?: pulumi.Input<string>; annotations?: pulumi.Input<Record<string, pulumi.Input<string>>> } & Record<string, unknown>;

function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}

function withAnnotation(metadata: pulumi.Input<Metadata> | undefined, key: string, value: pulumi.Output<string>): pulumi.Input<Metadata> {
  // Plain metadata stays plain, so a preview shows names and labels rather than an unknown metadata.
  if (metadata === undefined || (isPlain(metadata) && (metadata.annotations === undefined || isPlain(metadata.annotations)))) {
    const m = (metadata ?? {}) as Metadata;
    return { ...m, annotations: { ...(m.annotations as Record<string, pulumi.Input<string>> | undefined), [key]: value } };
  }
  return pulumi.all([metadata, value]).apply(([m, v]) => ({ ...m, annotations: { ...(m.annotations as Record<string, string> | undefined), [key]: v } })) as pulumi.Input<Metadata>;
}

/**
 * The resource transformation that makes every StatefulSet's immutable-field change a
 * replacement (see the top of this file). `deployed` is read when the resource registers:
 * the hashes of the StatefulSets as the stack's state has them (deployedImmutableFields),
 * or nothing for a new stack.
 */
export function statefulSetReplacement(deployed: () => ReadonlyMap<string, string> = () => new Map()): pulumi.ResourceTransformation {
  return (args) => {
    if (args.type !== STATEFUL_SET_TYPE) return undefined;
    const props = args.props as { metadata?: pulumi.Input<Metadata>; spec?: pulumi.Input<Record<string, unknown>> };
    // The replacement keeps the data only because deleting a StatefulSet keeps its claims.
    const retention = isPlain(props.spec) ? (props.spec.persistentVolumeClaimRetentionPolicy as { whenDeleted?: unknown } | undefined) : undefined;
    if (retention?.whenDeleted === 'Delete') {
      throw new Error(`StatefulSet ${args.name}: persistentVolumeClaimRetentionPolicy.whenDeleted must stay Retain: a replacement deletes the StatefulSet, and its volumes must survive it`);
    }
    // Only the immutable fields are resolved: an unknown elsewhere in the spec (a checksum of a
    // config being created) must not make the hash unknown and show a change that is not there.
    const spec = props.spec;
    const immutable = isPlain(spec)
      ? pulumi.output(Object.fromEntries(STATEFUL_SET_IMMUTABLE_FIELDS.map((f) => [f, spec[f]])))
      : pulumi.output(spec).apply((s) => Object.fromEntries(STATEFUL_SET_IMMUTABLE_FIELDS.map((f) => [f, (s as Record<string, unknown> | undefined)?.[f]])));
    const identity = isPlain(props.metadata)
      ? pulumi.output({ name: props.metadata.name, namespace: props.metadata.namespace })
      : pulumi.output(props.metadata).apply((m) => ({ name: m?.name, namespace: m?.namespace }));
    const hash = pulumi.all([immutable, identity]).apply(([fields, id]) => {
      const desired = immutableFieldsHash(fields as Record<string, unknown>);
      const before = deployed().get(objectKey(id));
      const replacing = before !== undefined && before !== desired;
      return (pulumi.runtime.isDryRun() && replacing ? pulumi.unknown : desired) as string;
    });
    const opts = args.opts as pulumi.CustomResourceOptions;
    return {
      props: { ...args.props, metadata: withAnnotation(props.metadata, IMMUTABLE_FIELDS_ANNOTATION, hash) },
      opts: {
        ...opts,
        // The name is fixed (the volumes hang on it), so the old object must go first.
        deleteBeforeReplace: true,
        replaceOnChanges: [...new Set([...(opts.replaceOnChanges ?? []), ...STATEFUL_SET_IMMUTABLE_FIELDS.map((f) => `spec.${f}`)])],
      },
    };
  };
}
