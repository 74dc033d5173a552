import type * as pulumi from '@pulumi/pulumi';

/** Tags a component puts on every taggable resource it creates. */
export type Tags = Readonly<Record<string, string>>;

/**
 * The given tags plus a `Name` tag. EC2 shows `Name` in the console, which is the only
 * way to tell one subnet or route table from another there.
 */
export function withName(tags: Tags | undefined, name: pulumi.Input<string>): Record<string, pulumi.Input<string>> {
  return { ...tags, Name: name };
}
