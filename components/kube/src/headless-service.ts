/**
 * Headless Services (`clusterIP: None`): gossip seeds and the governing Services of
 * StatefulSets, whose clients need every pod's address rather than one virtual IP.
 *
 * Each one skips the Kubernetes provider's await (`pulumi.com/skipAwait`), because that await
 * makes the stack's state record an object older than the one just applied. In the provider
 * (4.25, pulumi-kubernetes provider/pkg/await/service.go), a headless Service is "ready" at the
 * first informer event that names it (checkAndLogStatus → shouldWaitForPods is false for
 * isHeadlessService), and the awaiter returns that event's object, which Update then records
 * as the Service's live state. The informer is shared per namespace for the provider's whole
 * process (await/informers/factory.go, Subscribe): when an earlier Service of the run already
 * started it, the new subscriber's first events are the cache replayed as "added"
 * (client-go tools/cache shared_informer.go, AddEventHandler on a started informer), and that
 * cache may not have seen the apply yet. The state then holds the new inputs beside the old
 * labels and resourceVersion, so every later preview lists an update of the Service (with no
 * property in Lookout's summary), and neither a refresh before the next `up` nor an `up`
 * clears it for good: the next apply can record a stale copy again. It shows after upgrades,
 * which relabel every Service; Services with pods to wait for are unaffected, since their
 * await outlasts the watch event of the apply.
 *
 * Skipping the await costs nothing here: for a headless Service it checks only that the object
 * exists, which the apply's response already proves. With it skipped, create and update record
 * the API server's response to the apply itself, and a refresh reads the object directly.
 */
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';

/** The provider's annotation that turns its await off for one object. */
export const SKIP_AWAIT_ANNOTATION = 'pulumi.com/skipAwait';

export interface HeadlessServiceArgs {
  metadata: {
    name: string;
    namespace: pulumi.Input<string>;
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    annotations?: Record<string, pulumi.Input<string>>;
  };
  /** The spec, but for `clusterIP` (always `None`) and `type` (always the default, ClusterIP). */
  spec: Omit<k8s.types.input.core.v1.ServiceSpec, 'clusterIP' | 'clusterIPs' | 'type'>;
}

/** A headless Service whose state records the object as applied (see the top). */
export function headlessService(name: string, args: HeadlessServiceArgs, opts?: pulumi.CustomResourceOptions): k8s.core.v1.Service {
  return new k8s.core.v1.Service(
    name,
    {
      metadata: { ...args.metadata, annotations: { ...args.metadata.annotations, [SKIP_AWAIT_ANNOTATION]: 'true' } },
      spec: { ...args.spec, clusterIP: 'None' },
    },
    opts,
  );
}
