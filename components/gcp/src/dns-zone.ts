/**
 * The Cloud DNS managed zone of an instance's domain and, when the parent zone is in the same
 * project, the NS delegation in it.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { checkLabels, type Labels } from './labels.js';

export const DELEGATION_TTL_SECONDS = 300;

export interface DnsZoneArgs {
  project: string;
  /** Managed zone name (1–63 lowercase letters, digits, -). */
  zoneName: string;
  /** The domain, e.g. `obs.example.com`. */
  domain: string;
  /** Managed zone name of the parent domain in the same project; when given, the NS delegation is added there. */
  parentZoneName?: pulumi.Input<string>;
  description?: string;
  labels?: Labels;
}

export class DnsZone extends pulumi.ComponentResource {
  readonly zone: gcp.dns.ManagedZone;
  readonly zoneName: pulumi.Output<string>;
  readonly nameServers: pulumi.Output<string[]>;
  readonly delegated: boolean;
  readonly delegation: gcp.dns.RecordSet | undefined;

  constructor(name: string, args: DnsZoneArgs, opts?: pulumi.ComponentResourceOptions) {
    if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(args.zoneName)) throw new Error(`DnsZone ${name}: zoneName must be 1–63 lowercase letters, digits or -, not "${args.zoneName}"`);
    const labels = checkLabels(`DnsZone ${name}`, args.labels);
    super('lookout:gcp:DnsZone', name, {}, opts);
    const parent = { parent: this };
    const dnsName = `${args.domain.replace(/\.$/, '')}.`;
    this.zone = new gcp.dns.ManagedZone(
      name,
      {
        project: args.project,
        name: args.zoneName,
        dnsName,
        description: args.description ?? `Managed by Pulumi: ${args.domain}`,
        visibility: 'public',
        // Records written outside the program (ACME challenges, tenant hosts) must make a delete fail loudly.
        forceDestroy: false,
        labels: { ...labels },
      },
      parent,
    );
    this.zoneName = this.zone.name;
    this.nameServers = this.zone.nameServers;
    this.delegated = args.parentZoneName !== undefined;
    this.delegation =
      args.parentZoneName === undefined
        ? undefined
        : new gcp.dns.RecordSet(
            `${name}-delegation`,
            { project: args.project, managedZone: args.parentZoneName, name: dnsName, type: 'NS', ttl: DELEGATION_TTL_SECONDS, rrdatas: this.zone.nameServers },
            parent,
          );
    this.registerOutputs({ zoneName: this.zoneName, nameServers: this.nameServers, delegated: this.delegated });
  }
}
