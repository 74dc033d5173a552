/**
 * The Route53 hosted zone of an instance's domain and, when the parent zone is in the same
 * account, the NS delegation to it.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Tags } from './tags.js';

export const DELEGATION_TTL_SECONDS = 300;

export interface DnsZoneArgs {
  /** The domain, e.g. `obs.example.com`. */
  domain: string;
  /** Hosted zone id of the parent domain; when given, the NS delegation is added there. */
  parentZoneId?: pulumi.Input<string>;
  comment?: string;
  tags?: Tags;
}

export class DnsZone extends pulumi.ComponentResource {
  readonly zone: aws.route53.Zone;
  readonly zoneId: pulumi.Output<string>;
  readonly nameServers: pulumi.Output<string[]>;
  /** True when this component wrote the NS records into the parent zone. */
  readonly delegated: boolean;
  readonly delegation: aws.route53.Record | undefined;

  constructor(name: string, args: DnsZoneArgs, opts?: pulumi.ComponentResourceOptions) {
    super('lookout:aws:DnsZone', name, {}, opts);
    const parent = { parent: this };
    this.zone = new aws.route53.Zone(
      name,
      {
        name: args.domain,
        comment: args.comment ?? `Managed by Pulumi: ${args.domain}`,
        // Records written outside the program (ACME challenges, tenant hosts) must make a
        // delete fail loudly, not vanish with the zone.
        forceDestroy: false,
        tags: { ...args.tags },
      },
      parent,
    );
    this.zoneId = this.zone.zoneId;
    this.nameServers = this.zone.nameServers;
    this.delegated = args.parentZoneId !== undefined;
    this.delegation =
      args.parentZoneId === undefined
        ? undefined
        : new aws.route53.Record(
            `${name}-delegation`,
            {
              zoneId: args.parentZoneId,
              name: args.domain,
              type: 'NS',
              ttl: DELEGATION_TTL_SECONDS,
              records: this.zone.nameServers,
            },
            parent,
          );

    this.registerOutputs({ zoneId: this.zoneId, nameServers: this.nameServers, delegated: this.delegated });
  }
}
