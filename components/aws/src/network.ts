/**
 * A VPC for an EKS cluster spread over several availability zones: a public and a private
 * subnet per AZ, NAT gateways for egress, and an S3 gateway endpoint so that object storage
 * traffic (the bulk of an observability stack's traffic) bypasses the NAT gateways.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { MAX_AVAILABILITY_ZONES, carveSubnets } from './cidr.js';
import { withName, type Tags } from './tags.js';

export type NatGatewayMode = 'one-per-az' | 'single';

export const DEFAULT_VPC_CIDR = '10.0.0.0/16';
export const MIN_AVAILABILITY_ZONES = 2;

export interface NetworkArgs {
  /** Number of AZs to use, taken in order from the region's available, non-opt-in zones. Default 3. */
  availabilityZoneCount?: number;
  /** Explicit AZ names; when given, their number wins over `availabilityZoneCount`. */
  availabilityZones?: string[];
  /**
   * `one-per-az` (default): each private subnet leaves through the NAT gateway of its own AZ,
   * so losing an AZ does not cut egress of the others. `single`: one NAT gateway for all.
   */
  natGateways?: NatGatewayMode;
  /** VPC CIDR, a /16 to /20. Default 10.0.0.0/16. */
  vpcCidr?: string;
  /**
   * Name of the EKS cluster that will use the subnets. Adds the
   * `kubernetes.io/cluster/<name>=shared` tag that load balancer controllers use to find them.
   */
  clusterName?: string;
  /** Prefix of the `Name` tags. Default: the component's name. */
  namePrefix?: string;
  /** Tags for every taggable resource. */
  tags?: Tags;
}

export class Network extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidr: string;
  readonly availabilityZones: pulumi.Output<string[]>;
  readonly natMode: NatGatewayMode;
  readonly publicSubnets: aws.ec2.Subnet[];
  readonly privateSubnets: aws.ec2.Subnet[];
  readonly publicSubnetIds: pulumi.Output<string[]>;
  readonly privateSubnetIds: pulumi.Output<string[]>;
  readonly natGateways: aws.ec2.NatGateway[];
  /** One per AZ in both NAT modes, so switching modes only swaps routes, never associations. */
  readonly privateRouteTables: aws.ec2.RouteTable[];
  readonly publicRouteTable: aws.ec2.RouteTable;
  readonly s3Endpoint: aws.ec2.VpcEndpoint;

  constructor(name: string, args: NetworkArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    // Checked before registering, so a bad argument leaves no half-registered component.
    const azCount = args.availabilityZones?.length ?? args.availabilityZoneCount ?? MAX_AVAILABILITY_ZONES;
    if (!Number.isInteger(azCount) || azCount < MIN_AVAILABILITY_ZONES || azCount > MAX_AVAILABILITY_ZONES) {
      throw new Error(`Network ${name}: use ${MIN_AVAILABILITY_ZONES} to ${MAX_AVAILABILITY_ZONES} availability zones, not ${azCount}`);
    }
    const vpcCidr = args.vpcCidr ?? DEFAULT_VPC_CIDR;
    const layout = carveSubnets(vpcCidr, azCount);
    super('lookout:aws:Network', name, {}, opts);
    const parent = { parent: this };
    const tags = args.tags ?? {};
    const prefix = args.namePrefix ?? name;
    this.natMode = args.natGateways ?? 'one-per-az';
    this.vpcCidr = vpcCidr;

    this.availabilityZones = args.availabilityZones
      ? pulumi.output(args.availabilityZones)
      : aws
          .getAvailabilityZonesOutput(
            // Local and Wavelength zones are opt-in; they cannot host EKS nodes or NAT gateways.
            { state: 'available', filters: [{ name: 'opt-in-status', values: ['opt-in-not-required'] }] },
            parent,
          )
          .names.apply((names) => {
            if (names.length < azCount) {
              throw new Error(`Network ${name}: the region has ${names.length} available zones, ${azCount} are needed`);
            }
            return [...names].sort().slice(0, azCount);
          });
    const azAt = (i: number) => this.availabilityZones.apply((names) => names[i]!);
    const clusterTag: Record<string, string> = args.clusterName ? { [`kubernetes.io/cluster/${args.clusterName}`]: 'shared' } : {};

    this.vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      { cidrBlock: this.vpcCidr, enableDnsSupport: true, enableDnsHostnames: true, tags: withName(tags, prefix) },
      parent,
    );
    this.vpcId = this.vpc.id;

    // Adopts the VPC's default security group and leaves it without rules, so nothing that
    // lands in it by accident (CIS AWS Foundations 5.4) can talk to anything.
    new aws.ec2.DefaultSecurityGroup(
      `${name}-default-sg`,
      { vpcId: this.vpc.id, ingress: [], egress: [], tags: withName(tags, `${prefix}-default-deny`) },
      parent,
    );

    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id, tags: withName(tags, prefix) }, parent);

    this.publicSubnets = layout.public.map(
      (cidrBlock, i) =>
        new aws.ec2.Subnet(
          `${name}-public-${i}`,
          {
            vpcId: this.vpc.id,
            cidrBlock,
            availabilityZone: azAt(i),
            // Nothing launched here needs a public IP: NAT gateways get Elastic IPs and
            // load balancers get their own addresses.
            mapPublicIpOnLaunch: false,
            tags: { ...withName(tags, pulumi.interpolate`${prefix}-public-${azAt(i)}`), ...clusterTag, 'kubernetes.io/role/elb': '1' },
          },
          parent,
        ),
    );
    this.privateSubnets = layout.private.map(
      (cidrBlock, i) =>
        new aws.ec2.Subnet(
          `${name}-private-${i}`,
          {
            vpcId: this.vpc.id,
            cidrBlock,
            availabilityZone: azAt(i),
            mapPublicIpOnLaunch: false,
            tags: {
              ...withName(tags, pulumi.interpolate`${prefix}-private-${azAt(i)}`),
              ...clusterTag,
              'kubernetes.io/role/internal-elb': '1',
            },
          },
          parent,
        ),
    );
    this.publicSubnetIds = pulumi.all(this.publicSubnets.map((s) => s.id));
    this.privateSubnetIds = pulumi.all(this.privateSubnets.map((s) => s.id));

    this.publicRouteTable = new aws.ec2.RouteTable(
      `${name}-public`,
      { vpcId: this.vpc.id, tags: withName(tags, `${prefix}-public`) },
      parent,
    );
    new aws.ec2.Route(
      `${name}-public-default`,
      { routeTableId: this.publicRouteTable.id, destinationCidrBlock: '0.0.0.0/0', gatewayId: igw.id },
      parent,
    );
    this.publicSubnets.forEach(
      (subnet, i) =>
        new aws.ec2.RouteTableAssociation(
          `${name}-public-${i}`,
          { subnetId: subnet.id, routeTableId: this.publicRouteTable.id },
          parent,
        ),
    );

    const natCount = this.natMode === 'single' ? 1 : azCount;
    this.natGateways = [...Array(natCount).keys()].map((i) => {
      const eip = new aws.ec2.Eip(
        `${name}-nat-${i}`,
        { domain: 'vpc', tags: withName(tags, pulumi.interpolate`${prefix}-nat-${azAt(i)}`) },
        { ...parent, dependsOn: [igw] },
      );
      return new aws.ec2.NatGateway(
        `${name}-nat-${i}`,
        {
          allocationId: eip.allocationId,
          subnetId: this.publicSubnets[i]!.id,
          connectivityType: 'public',
          tags: withName(tags, pulumi.interpolate`${prefix}-nat-${azAt(i)}`),
        },
        // A NAT gateway created before the VPC has its internet gateway stays unusable.
        { ...parent, dependsOn: [igw] },
      );
    });

    this.privateRouteTables = this.privateSubnets.map((subnet, i) => {
      const table = new aws.ec2.RouteTable(
        `${name}-private-${i}`,
        { vpcId: this.vpc.id, tags: withName(tags, pulumi.interpolate`${prefix}-private-${azAt(i)}`) },
        parent,
      );
      const nat = this.natGateways[this.natMode === 'single' ? 0 : i]!;
      new aws.ec2.Route(
        `${name}-private-${i}-default`,
        { routeTableId: table.id, destinationCidrBlock: '0.0.0.0/0', natGatewayId: nat.id },
        parent,
      );
      new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: subnet.id, routeTableId: table.id }, parent);
      return table;
    });

    const region = aws.getRegionOutput({}, parent).region;
    this.s3Endpoint = new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      {
        vpcId: this.vpc.id,
        serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
        vpcEndpointType: 'Gateway',
        routeTableIds: this.privateRouteTables.map((t) => t.id),
        tags: withName(tags, `${prefix}-s3`),
      },
      parent,
    );

    this.registerOutputs({
      vpcId: this.vpcId,
      availabilityZones: this.availabilityZones,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
    });
  }
}
