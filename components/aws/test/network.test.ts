import { describe, expect, it } from 'vitest';
import { carveSubnets } from '../src/cidr.js';
import { Network, type NetworkArgs } from '../src/network.js';
import { REGION, countByType, keyOf, ofType, oneOf, runWithAwsMocks, subnetEgress } from './support.js';

async function network(args: NetworkArgs) {
  return runWithAwsMocks(async () => {
    const net = new Network('net', { namePrefix: 'acme', tags: { owner: 'obs' }, ...args });
    return { privateSubnetIds: net.privateSubnetIds, publicSubnetIds: net.publicSubnetIds, azs: net.availabilityZones, vpcId: net.vpcId };
  });
}

/** Resources a Network registers, from its shape: what the counts must be. */
function expectedCounts(azs: number, nats: number): Record<string, number> {
  return {
    'aws:ec2/vpc:Vpc': 1,
    'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup': 1,
    'aws:ec2/internetGateway:InternetGateway': 1,
    'aws:ec2/subnet:Subnet': 2 * azs,
    'aws:ec2/eip:Eip': nats,
    'aws:ec2/natGateway:NatGateway': nats,
    'aws:ec2/routeTable:RouteTable': 1 + azs,
    'aws:ec2/route:Route': 1 + azs,
    'aws:ec2/routeTableAssociation:RouteTableAssociation': 2 * azs,
    'aws:ec2/vpcEndpoint:VpcEndpoint': 1,
    'lookout:aws:Network': 1,
  };
}

describe('Network', () => {
  it.each([
    [3, 'one-per-az' as const, 3],
    [2, 'one-per-az' as const, 2],
    [3, 'single' as const, 1],
    [2, 'single' as const, 1],
  ])('with %i AZs and NAT mode %s registers the resources its shape implies', async (azs, natGateways, nats) => {
    const run = await network({ availabilityZoneCount: azs, natGateways });
    const counts = countByType(run.resources);
    expect(counts).toEqual(expectedCounts(azs, nats));
    expect(run.outputs.azs).toEqual(['a', 'b', 'c'].slice(0, azs).map((l) => `${REGION}${l}`));
  });

  it('routes every private subnet through the NAT gateway in its own AZ (one-per-az)', async () => {
    const run = await network({ availabilityZoneCount: 3, natGateways: 'one-per-az' });
    const egress = subnetEgress(run);
    const privateSubnets = egress.filter((e) => e.via === 'nat-gateway');
    const publicSubnets = egress.filter((e) => e.via === 'internet-gateway');
    expect(privateSubnets).toHaveLength(3);
    expect(publicSubnets).toHaveLength(3);
    for (const e of privateSubnets) expect(e.natAvailabilityZone, e.subnet.name).toBe(e.availabilityZone);
    expect(new Set(privateSubnets.map((e) => keyOf(e.nat!))).size).toBe(3);
    expect(new Set(privateSubnets.map((e) => e.availabilityZone)).size).toBe(3);
    // Each NAT gateway sits in a public subnet and has its own Elastic IP.
    const eipIds = ofType(run.resources, 'aws:ec2/natGateway:NatGateway').map((n) => {
      expect(publicSubnets.map((p) => keyOf(p.subnet))).toContain(keyOf(run.byId.get(n.inputs.subnetId)!));
      expect(run.byId.get(n.inputs.allocationId)?.type).toBe('aws:ec2/eip:Eip');
      return n.inputs.allocationId;
    });
    expect(new Set(eipIds).size).toBe(3);
  });

  it('routes every private subnet through the one NAT gateway (single)', async () => {
    const run = await network({ availabilityZoneCount: 2, natGateways: 'single' });
    const privateSubnets = subnetEgress(run).filter((e) => e.via === 'nat-gateway');
    expect(privateSubnets).toHaveLength(2);
    expect(new Set(privateSubnets.map((e) => keyOf(e.nat!))).size).toBe(1);
  });

  it('maps no public IPs, tags subnets for load balancers, and keeps the private subnets the larger ones', async () => {
    const run = await network({ availabilityZoneCount: 3, clusterName: 'lookout-prod' });
    const layout = carveSubnets('10.0.0.0/16', 3);
    const egress = subnetEgress(run);
    for (const e of egress) {
      expect(e.subnet.inputs.mapPublicIpOnLaunch, e.subnet.name).toBe(false);
      expect(e.subnet.inputs.tags['kubernetes.io/cluster/lookout-prod']).toBe('shared');
      if (e.via === 'nat-gateway') {
        expect(e.subnet.inputs.tags['kubernetes.io/role/internal-elb']).toBe('1');
        expect(e.subnet.inputs.tags['kubernetes.io/role/elb']).toBeUndefined();
        expect(layout.private).toContain(e.subnet.inputs.cidrBlock);
      } else {
        expect(e.subnet.inputs.tags['kubernetes.io/role/elb']).toBe('1');
        expect(layout.public).toContain(e.subnet.inputs.cidrBlock);
      }
    }
    expect(run.outputs.privateSubnetIds.map((id) => egress.find((e) => run.byId.get(id) === e.subnet)?.via)).toEqual([
      'nat-gateway',
      'nat-gateway',
      'nat-gateway',
    ]);
  });

  it('enables DNS in the VPC, locks its default security group, and sends S3 traffic of private subnets to a gateway endpoint', async () => {
    const run = await network({ availabilityZoneCount: 3, vpcCidr: '10.40.0.0/16' });
    const vpc = oneOf(run.resources, 'aws:ec2/vpc:Vpc');
    expect(vpc.inputs).toMatchObject({ cidrBlock: '10.40.0.0/16', enableDnsSupport: true, enableDnsHostnames: true });
    const sg = oneOf(run.resources, 'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup');
    expect(sg.inputs.ingress).toEqual([]);
    expect(sg.inputs.egress).toEqual([]);
    const endpoint = oneOf(run.resources, 'aws:ec2/vpcEndpoint:VpcEndpoint');
    expect(endpoint.inputs.serviceName).toBe(`com.amazonaws.${REGION}.s3`);
    expect(endpoint.inputs.vpcEndpointType).toBe('Gateway');
    const privateTables = subnetEgress(run)
      .filter((e) => e.via === 'nat-gateway')
      .map((e) => keyOf(e.routeTable!))
      .sort();
    expect((endpoint.inputs.routeTableIds as string[]).map((id) => keyOf(run.byId.get(id)!)).sort()).toEqual(privateTables);
  });

  it('uses the AZ names it is given, and makes NAT gateways wait for the internet gateway', async () => {
    const run = await network({ availabilityZones: ['eu-west-1c', 'eu-west-1a'] });
    expect(run.outputs.azs).toEqual(['eu-west-1c', 'eu-west-1a']);
    expect(ofType(run.resources, 'aws:ec2/subnet:Subnet').map((s) => s.inputs.availabilityZone).sort()).toEqual([
      'eu-west-1a',
      'eu-west-1a',
      'eu-west-1c',
      'eu-west-1c',
    ]);
    const igw = keyOf(oneOf(run.resources, 'aws:ec2/internetGateway:InternetGateway'));
    for (const nat of ofType(run.resources, 'aws:ec2/natGateway:NatGateway')) expect(run.options.get(keyOf(nat))!.dependsOn).toContain(igw);
  });

  it('refuses fewer than 2 or more than 3 AZs before registering anything', () => {
    expect(() => new Network('n', { availabilityZoneCount: 1 })).toThrow(/2 to 3 availability zones/);
    expect(() => new Network('n', { availabilityZoneCount: 4 })).toThrow(/2 to 3 availability zones/);
    expect(() => new Network('n', { vpcCidr: '10.0.0.0/24' })).toThrow(/\/16 to \/20/);
  });
});
