/**
 * The network of a private GKE cluster: a custom-mode VPC with one regional subnet whose
 * secondary ranges hold the pods and the Services (VPC-native), Private Google Access so
 * private nodes reach Google APIs (GCS, Artifact Registry) without a public address, and a
 * Cloud Router with Cloud NAT for everything else they pull from the internet.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export const DEFAULT_RANGES = {
  /** Nodes (and internal load balancers). */
  nodes: '10.0.0.0/20',
  /** Pods: a /14 gives 1024 nodes their default /24 each. */
  pods: '10.4.0.0/14',
  services: '10.8.0.0/20',
} as const;

export const POD_RANGE_NAME = 'pods';
export const SERVICE_RANGE_NAME = 'services';

export interface NetworkArgs {
  /** Region of the subnet, router and NAT, e.g. `europe-west1`. */
  region: string;
  /** Prefix of the physical names (network, subnet, router, NAT). Default: the component name. */
  namePrefix?: string;
  /** Primary and secondary ranges; default {@link DEFAULT_RANGES}. */
  ranges?: { nodes: string; pods: string; services: string };
  /** Log NAT translation errors (not every translation: that is billed per GiB). Default true. */
  logNatErrors?: boolean;
}

export class Network extends pulumi.ComponentResource {
  readonly network: gcp.compute.Network;
  readonly subnetwork: gcp.compute.Subnetwork;
  readonly router: gcp.compute.Router;
  readonly nat: gcp.compute.RouterNat;
  readonly networkId: pulumi.Output<string>;
  readonly networkSelfLink: pulumi.Output<string>;
  readonly subnetworkSelfLink: pulumi.Output<string>;
  readonly ranges: { nodes: string; pods: string; services: string };
  readonly podRangeName = POD_RANGE_NAME;
  readonly serviceRangeName = SERVICE_RANGE_NAME;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    const ranges = args.ranges ?? DEFAULT_RANGES;
    for (const [what, cidr] of Object.entries(ranges)) {
      if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) throw new Error(`Network ${name}: ranges.${what} must be an IPv4 CIDR, not "${cidr}"`);
    }
    if (!/^[a-z]+-[a-z]+\d+$/.test(args.region)) throw new Error(`Network ${name}: region must be a GCP region such as europe-west1, not "${args.region}"`);
    super('lookout:gcp:Network', name, {}, opts);
    const parent = { parent: this };
    const prefix = args.namePrefix ?? name;
    this.ranges = { ...ranges };

    // Custom mode: auto mode would add a subnet in every region with ranges we do not choose.
    this.network = new gcp.compute.Network(
      name,
      { name: prefix, autoCreateSubnetworks: false, routingMode: 'REGIONAL', description: `Network of ${prefix}` },
      parent,
    );
    this.subnetwork = new gcp.compute.Subnetwork(
      `${name}-nodes`,
      {
        name: `${prefix}-nodes`,
        region: args.region,
        network: this.network.id,
        ipCidrRange: ranges.nodes,
        secondaryIpRanges: [
          { rangeName: POD_RANGE_NAME, ipCidrRange: ranges.pods },
          { rangeName: SERVICE_RANGE_NAME, ipCidrRange: ranges.services },
        ],
        privateIpGoogleAccess: true,
      },
      parent,
    );
    this.router = new gcp.compute.Router(`${name}-router`, { name: `${prefix}-router`, region: args.region, network: this.network.id }, parent);
    this.nat = new gcp.compute.RouterNat(
      `${name}-nat`,
      {
        name: `${prefix}-nat`,
        region: args.region,
        router: this.router.name,
        natIpAllocateOption: 'AUTO_ONLY',
        // Only this subnet (nodes and pods) gets egress, not whatever else is added to the network later.
        sourceSubnetworkIpRangesToNat: 'LIST_OF_SUBNETWORKS',
        subnetworks: [{ name: this.subnetwork.id, sourceIpRangesToNats: ['ALL_IP_RANGES'] }],
        logConfig: { enable: args.logNatErrors ?? true, filter: 'ERRORS_ONLY' },
      },
      parent,
    );
    this.networkId = this.network.id;
    this.networkSelfLink = this.network.selfLink;
    this.subnetworkSelfLink = this.subnetwork.selfLink;
    this.registerOutputs({ networkId: this.networkId, subnetworkSelfLink: this.subnetworkSelfLink });
  }
}
