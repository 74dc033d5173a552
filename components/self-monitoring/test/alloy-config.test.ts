import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  ALLOY_PATHS,
  GATEWAY_ACCESS_LOG_FIELDS,
  GATEWAY_METRICS,
  METRICS_PORT_NAME,
  alloyConfigBlocks,
  block,
  definedComponents,
  expression,
  referencedComponents,
  renderAlertRules,
  renderAlloy,
  renderAlloyConfig,
  type AlloyBlock,
  type AlloyComment,
} from '../src/index.js';
import { hasTool, runTool, toolSuiteTitle, withTempDir } from './support.js';

const DOMAIN = 'obs.example.com';
const items = alloyConfigBlocks({ domain: DOMAIN });
const blocks = items.filter((i): i is AlloyBlock => !('comment' in i));

function component(id: string): AlloyBlock {
  const found = blocks.filter((b) => `${b.name}.${b.label}` === id);
  if (found.length !== 1) throw new Error(`expected one ${id}, found ${found.length}`);
  return found[0]!;
}

function children(b: AlloyBlock, name: string): AlloyBlock[] {
  return b.blocks.filter((c) => c.name === name);
}

/** All nested blocks, depth first. */
function descendants(b: AlloyBlock): AlloyBlock[] {
  return b.blocks.flatMap((c) => [c, ...descendants(c)]);
}

const rules = (b: AlloyBlock) => children(b, 'rule').map((r) => r.attributes);

describe('Alloy configuration generator', () => {
  it('is deterministic', () => {
    expect(renderAlloyConfig({ domain: DOMAIN })).toBe(renderAlloyConfig({ domain: DOMAIN }));
  });

  it('defines the collector pipelines, and every reference resolves to a defined component', () => {
    const defined = definedComponents(items);
    expect(new Set(defined).size).toBe(defined.length);
    expect(defined).toEqual(
      expect.arrayContaining([
        'discovery.kubernetes.pods',
        'discovery.kubernetes.node',
        'discovery.relabel.platform_pods',
        'prometheus.scrape.platform_services',
        'prometheus.scrape.kube_state_metrics',
        'prometheus.scrape.kubelet',
        'prometheus.scrape.cadvisor',
        'prometheus.exporter.blackbox.gateway_tls',
        'prometheus.scrape.gateway_tls',
        'prometheus.remote_write.system',
        'local.file_match.pod_logs',
        'loki.source.file.pod_logs',
        'loki.process.pod_logs',
        'loki.process.gateway_access_log',
        'loki.write.system',
      ]),
    );
    const referenced = referencedComponents(items);
    for (const r of referenced) expect(defined, r).toContain(r);
    // Everything but the pipelines' starting points (scrapes, file tailing) feeds something.
    const roots = defined.filter((d) => d.startsWith('prometheus.scrape.') || d.startsWith('loki.source.'));
    for (const d of defined.filter((x) => !roots.includes(x))) expect(referenced, `${d} is not used`).toContain(d);
  });

  it('writes metrics to the Cortex distributor and logs to Loki, both as the system tenant', () => {
    const rw = children(component('prometheus.remote_write.system'), 'endpoint');
    expect(rw).toHaveLength(1);
    expect(rw[0]!.attributes).toEqual({
      url: 'http://cortex-distributor.lookout.svc.cluster.local:8080/api/v1/push',
      headers: { 'X-Scope-OrgID': 'system' },
    });
    const lw = children(component('loki.write.system'), 'endpoint');
    expect(lw).toHaveLength(1);
    expect(lw[0]!.attributes).toEqual({ url: 'http://loki-write.lookout.svc.cluster.local:3100/loki/api/v1/push', tenant_id: 'system' });

    const text = renderAlloyConfig({ domain: DOMAIN });
    expect(text).toContain('"X-Scope-OrgID" = "system"');
    expect(text).toContain('tenant_id = "system"');
  });

  it('sends every scraped series to the remote write, directly or through a filter', () => {
    const receiver = 'prometheus.remote_write.system.receiver';
    for (const scrape of blocks.filter((b) => b.name === 'prometheus.scrape')) {
      const [target] = (scrape.attributes.forward_to as Array<{ text: string }>).map((e) => e.text);
      if (target === receiver) continue;
      const relabel = component(target!.replace(/\.receiver$/, ''));
      expect(relabel.name).toBe('prometheus.relabel');
      expect((relabel.attributes.forward_to as Array<{ text: string }>).map((e) => e.text)).toEqual([receiver]);
    }
  });

  it('discovers only the pods and node of its own node', () => {
    for (const [id, role, field] of [
      ['discovery.kubernetes.pods', 'pod', 'spec.nodeName='],
      ['discovery.kubernetes.node', 'node', 'metadata.name='],
    ] as const) {
      const [selector] = children(component(id), 'selectors');
      expect(selector!.attributes.role).toBe(role);
      expect(selector!.attributes.field).toEqual(expression(`"${field}" + sys.env("NODE_NAME")`, []));
    }
  });

  it('scrapes platform pods by the port name convention, labelled with job, namespace, pod and container', () => {
    const relabel = rules(component('discovery.relabel.platform_pods'));
    expect(relabel).toEqual(
      expect.arrayContaining([
        // The platform namespace and the node namespace (the collector itself, node-exporter).
        { source_labels: ['__meta_kubernetes_namespace'], regex: 'lookout|lookout-node', action: 'keep' },
        { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: METRICS_PORT_NAME, action: 'keep' },
        { source_labels: ['__meta_kubernetes_namespace', '__meta_kubernetes_pod_label_app_kubernetes_io_name'], separator: '/', target_label: 'job' },
        { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
      ]),
    );
    // kube-state-metrics keeps its own namespace/pod labels.
    expect(component('prometheus.scrape.kube_state_metrics').attributes.honor_labels).toBe(true);
    expect(rules(component('discovery.relabel.kube_state_metrics'))).toContainEqual({ source_labels: ['job'], regex: 'lookout/kube-state-metrics', action: 'keep' });
    expect(rules(component('discovery.relabel.platform_services'))).toContainEqual({ source_labels: ['job'], regex: 'lookout/kube-state-metrics', action: 'drop' });
  });

  it('scrapes the kubelet and cAdvisor over HTTPS with the service account token', () => {
    for (const [id, path] of [
      ['prometheus.scrape.kubelet', undefined],
      ['prometheus.scrape.cadvisor', '/metrics/cadvisor'],
    ] as const) {
      const scrape = component(id);
      expect(scrape.attributes.scheme).toBe('https');
      expect(scrape.attributes.bearer_token_file).toBe(`${ALLOY_PATHS.serviceAccountDir}/token`);
      expect(scrape.attributes.metrics_path).toBe(path);
    }
  });

  it('probes the certificate the gateway serves, with the system tenant SNI', () => {
    const exporter = component('prometheus.exporter.blackbox.gateway_tls');
    const modules = YAML.parse(exporter.attributes.config as string).modules;
    expect(Object.keys(modules)).toEqual(['gateway_tls']);
    expect(modules.gateway_tls.prober).toBe('tcp');
    expect(modules.gateway_tls.tcp.tls).toBe(true);
    expect(modules.gateway_tls.tcp.tls_config.server_name).toBe(`system.${DOMAIN}`);
    const [target] = children(exporter, 'target');
    expect(target!.attributes).toEqual({ name: 'gateway', address: 'gateway.lookout.svc.cluster.local:443', module: 'gateway_tls' });
    expect(rules(component('discovery.relabel.gateway_tls'))).toEqual(
      expect.arrayContaining([
        { target_label: 'job', replacement: 'lookout/gateway-tls' },
        { target_label: 'server_name', replacement: `system.${DOMAIN}` },
      ]),
    );
    // The alert rules select the same job.
    expect(renderAlertRules()).toContain('probe_ssl_earliest_cert_expiry{job="lookout/gateway-tls"}');
  });

  it('follows the gateway port it is given', () => {
    const other = alloyConfigBlocks({ domain: 'x.example.org', gateway: { port: 8443 } }).filter((i): i is AlloyBlock => !('comment' in i));
    const exporter = other.find((b) => b.name === 'prometheus.exporter.blackbox')!;
    expect(children(exporter, 'target')[0]!.attributes.address).toBe('gateway.lookout.svc.cluster.local:8443');
    expect(YAML.parse(exporter.attributes.config as string).modules.gateway_tls.tcp.tls_config.server_name).toBe('system.x.example.org');
  });

  it('tails pod logs under /var/log/pods with namespace, pod and container labels', () => {
    const relabel = rules(component('discovery.relabel.pod_logs'));
    for (const label of ['namespace', 'pod', 'container']) expect(relabel.map((r) => r.target_label)).toContain(label);
    expect(relabel).toContainEqual({
      source_labels: ['__meta_kubernetes_pod_uid', '__meta_kubernetes_pod_container_name'],
      separator: '/',
      target_label: '__path__',
      replacement: '/var/log/pods/*$1/*.log',
    });
    const process = component('loki.process.pod_logs');
    expect(process.blocks.map((b) => b.name)).toEqual(['stage.cri', 'stage.label_drop']);
    expect((process.attributes.forward_to as Array<{ text: string }>).map((e) => e.text)).toEqual([
      'loki.write.system.receiver',
      'loki.process.gateway_access_log.receiver',
    ]);
  });

  it('turns the gateway access log into request metrics by tenant and status class', () => {
    const pipeline = component('loki.process.gateway_access_log');
    const [match] = children(pipeline, 'stage.match');
    expect(match!.attributes.selector).toBe('{namespace="lookout", app="gateway"}');
    const all = descendants(pipeline);
    const json = all.find((b) => b.name === 'stage.json')!;
    expect(Object.values(json.attributes.expressions as Record<string, string>).sort()).toEqual(Object.values(GATEWAY_ACCESS_LOG_FIELDS).sort());
    expect(all.find((b) => b.name === 'stage.label_keep')!.attributes.values).toEqual(['tenant', 'status_class']);
    const counter = all.find((b) => b.name === 'metric.counter')!.attributes;
    expect(`${counter.prefix}${counter.name}`).toBe(GATEWAY_METRICS.requests);
    expect(counter.match_all).toBe(true);
    const histogram = all.find((b) => b.name === 'metric.histogram')!.attributes;
    expect(`${histogram.prefix}${histogram.name}`).toBe(GATEWAY_METRICS.duration);
    expect(histogram.source).toBe('request_time');
    // The status class label reads 1xx..5xx, which is what the 5xx alert selects.
    expect(all.find((b) => b.name === 'stage.template')!.attributes.template).toBe('{{ .Value }}xx');
    expect(renderAlertRules()).toContain(`${GATEWAY_METRICS.requests}{status_class="5xx"}`);
    // Only the metrics leave this branch: its entries are not shipped twice.
    expect(pipeline.attributes.forward_to).toEqual([]);
  });

  it('adds a cluster label to both pipelines only when asked', () => {
    const withCluster = renderAlloyConfig({ domain: DOMAIN, cluster: 'prod' });
    expect(withCluster.match(/external_labels = \{\n\s+cluster = "prod",\n\s+\}/g)).toHaveLength(2);
    expect(renderAlloyConfig({ domain: DOMAIN })).not.toContain('external_labels');
  });

  it('refuses a domain that cannot be an SNI name', () => {
    expect(() => renderAlloyConfig({ domain: '' })).toThrow(/domain/);
    expect(() => renderAlloyConfig({ domain: 'localhost' })).toThrow(/domain/);
    expect(() => renderAlloyConfig({ domain: 'obs.example.com"; evil' })).toThrow(/domain/);
  });
});

describe('Alloy syntax renderer', () => {
  it('quotes and escapes strings, quotes keys that are not identifiers, and renders nested blocks', () => {
    const text = renderAlloy([
      { comment: 'a comment' } satisfies AlloyComment,
      block('loki.process', 'x', { forward_to: [] }, [
        block('stage.match', undefined, { selector: '{app="a\\b"}' }, [block('stage.cri', undefined)]),
        block('stage.static_labels', undefined, { values: { plain: 'v', 'not-plain': 'w' } }),
      ]),
    ]);
    expect(text).toBe(
      [
        '// a comment',
        'loki.process "x" {',
        '  forward_to = []',
        '',
        '  stage.match {',
        '    selector = "{app=\\"a\\\\b\\"}"',
        '',
        '    stage.cri {}',
        '  }',
        '',
        '  stage.static_labels {',
        '    values = {',
        '      plain = "v",',
        '      "not-plain" = "w",',
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('rejects labels and attribute names Alloy would not parse', () => {
    expect(() => block('prometheus.scrape', 'has-dash')).toThrow(/component label/);
    expect(() => block('prometheus.scrape', 'ok', { 'bad-name': 1 })).toThrow(/attribute name/);
    expect(() => block('bad name', undefined)).toThrow(/block name/);
    expect(() => renderAlloy([block('x', 'y', { n: Number.NaN })])).toThrow(/finite/);
  });

  it('balances every brace and bracket of the generated configuration', () => {
    const text = renderAlloyConfig({ domain: DOMAIN });
    // Strings may contain braces (LogQL selectors, templates); count outside of them.
    const code = text.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/^\/\/.*$/gm, '');
    let depth = 0;
    for (const ch of code) {
      if (ch === '{' || ch === '[') depth++;
      if (ch === '}' || ch === ']') depth--;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
  });
});

// Grafana Alloy is not packaged by Debian and must not be downloaded here, so the generated
// configuration is checked structurally above; with an `alloy` binary on PATH it is also
// formatted (parsed) by Alloy itself.
const alloy = hasTool('alloy');
describe.skipIf(!alloy)(
  toolSuiteTitle('Alloy configuration under the real alloy binary', 'alloy', alloy, 'not packaged by Debian; install from https://github.com/grafana/alloy/releases'),
  () => {
    it('parses with alloy fmt', () => {
      withTempDir('alloy', (dir) => {
        const file = join(dir, 'config.alloy');
        writeFileSync(file, renderAlloyConfig({ domain: DOMAIN, cluster: 'prod' }));
        const run = runTool('alloy', ['fmt', file]);
        expect(run.status, run.output).toBe(0);
      });
    });
  },
);
