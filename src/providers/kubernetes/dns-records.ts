/**
 * The tenant hosts' record in a zone the user runs: `*.<domain>` pointing at the gateway (an
 * A or AAAA record for an IP address, a CNAME for a host name), written by RFC 2136 with the
 * `tls.rfc2136` server and key once the platform has the gateway's address, and removed by
 * destroy. With `dnsRecords: print`, the summary names it instead.
 */
import type { Step } from '../../engine/index.js';
import { ConfigError } from '../../errors.js';
import type { InstanceContext } from '../../steps/context.js';
import type { PlatformStepOutputs } from '../../steps/cluster-steps.js';
import { kubernetesConfigOf } from './settings.js';

/** The records' TTL: short, so a new gateway address is seen soon. */
const RECORD_TTL = 60;

export const tenantHostsName = (domain: string) => `*.${domain}`;

/** `dnsRecords: rfc2136` needs `tls.rfc2136`, with a zone that holds the tenant hosts. */
export function checkRecordSettings(c: Pick<InstanceContext, 'config' | 'configFile'>): void {
  if (kubernetesConfigOf(c.config).dnsRecords !== 'rfc2136') return;
  const rfc2136 = c.config.tls.rfc2136;
  const domain = c.config.dns.domain;
  const zone = rfc2136?.zone.replace(/\.$/, '').toLowerCase();
  if (!rfc2136 || !zone || (domain !== zone && !domain.endsWith(`.${zone}`))) {
    throw new ConfigError(c.configFile, [
      {
        path: rfc2136 ? 'tls.rfc2136.zone' : 'tls.rfc2136',
        message: rfc2136
          ? `must hold ${domain} when kubernetes.dnsRecords is rfc2136 (the record *.${domain} is written there), found ${rfc2136.zone}`
          : 'is required when kubernetes.dnsRecords is rfc2136: the record is written with its server and key',
      },
    ]);
  }
}

async function updater(c: Pick<InstanceContext, 'config'>) {
  const { rfc2136Updater } = await import('../../steps/tls-steps.js');
  return rfc2136Updater(c.config.tls.rfc2136!);
}

export function writeRecordsStep(c: InstanceContext): Step<{ name: string; target: string }> {
  return {
    name: 'dns-records',
    title: `Point *.${c.config.dns.domain} at the gateway (RFC 2136)`,
    inputs: (ctx) => ({ target: ctx.outputsOf<PlatformStepOutputs>('platform').loadBalancerHostname, zone: c.config.tls.rfc2136?.zone }),
    async run(ctx) {
      const target = ctx.outputsOf<PlatformStepOutputs>('platform').loadBalancerHostname;
      const name = tenantHostsName(c.config.dns.domain);
      await (await updater(c)).pointAt(name, target, RECORD_TTL, ctx.signal);
      return { name, target };
    },
  };
}

export function removeRecordsStep(c: InstanceContext): Step<{ removed: string }> {
  return {
    name: 'dns-records-remove',
    title: `Remove *.${c.config.dns.domain} (RFC 2136)`,
    async run(ctx) {
      const name = tenantHostsName(c.config.dns.domain);
      await (await updater(c)).removeAddress(name, ctx.signal);
      return { removed: name };
    },
  };
}
