import { describe, expect, it } from 'vitest';
import { DEFAULT_RANGES, Network } from '../src/network.js';
import { countByType, oneOf, runWithGcpMocks } from './support.js';

describe('Network', () => {
  it('is a custom-mode VPC with one subnet, pod and Service ranges, Private Google Access, and Cloud NAT for that subnet only', async () => {
    const run = await runWithGcpMocks(async () => {
      const n = new Network('net', { region: 'europe-west1', namePrefix: 'obs' });
      return { subnet: n.subnetworkSelfLink };
    });
    expect(countByType(run.resources)).toEqual({
      'lookout:gcp:Network': 1,
      'gcp:compute/network:Network': 1,
      'gcp:compute/subnetwork:Subnetwork': 1,
      'gcp:compute/router:Router': 1,
      'gcp:compute/routerNat:RouterNat': 1,
    });
    const network = oneOf(run.resources, 'gcp:compute/network:Network');
    expect(network.inputs).toMatchObject({ name: 'obs', autoCreateSubnetworks: false });
    const subnet = oneOf(run.resources, 'gcp:compute/subnetwork:Subnetwork');
    expect(subnet.inputs).toMatchObject({
      name: 'obs-nodes',
      region: 'europe-west1',
      network: 'projects/acme-obs/global/networks/obs',
      ipCidrRange: DEFAULT_RANGES.nodes,
      privateIpGoogleAccess: true,
      secondaryIpRanges: [
        { rangeName: 'pods', ipCidrRange: DEFAULT_RANGES.pods },
        { rangeName: 'services', ipCidrRange: DEFAULT_RANGES.services },
      ],
    });
    const nat = oneOf(run.resources, 'gcp:compute/routerNat:RouterNat');
    expect(nat.inputs).toMatchObject({
      router: 'obs-router',
      natIpAllocateOption: 'AUTO_ONLY',
      sourceSubnetworkIpRangesToNat: 'LIST_OF_SUBNETWORKS',
      subnetworks: [{ name: 'projects/acme-obs/regions/europe-west1/subnetworks/obs-nodes', sourceIpRangesToNats: ['ALL_IP_RANGES'] }],
    });
    expect(run.outputs.subnet).toBe('https://www.googleapis.com/compute/v1/projects/acme-obs/regions/europe-west1/subnetworks/obs-nodes');
  });

  it('refuses a bad range or region before registering anything', () => {
    expect(() => new Network('n', { region: 'europe-west1', ranges: { ...DEFAULT_RANGES, pods: '10.4.0.0' } })).toThrow(/ranges.pods must be an IPv4 CIDR/);
    expect(() => new Network('n', { region: 'europe-west' })).toThrow(/region must be a GCP region/);
  });
});
