/**
 * The container shell scripts, run under a real POSIX shell: the resolver include written from
 * a resolv.conf (and accepted by `nginx -t` when nginx is installed), and the start script,
 * with a stand-in `nginx` on PATH that records how it was called.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayStartScript, heartbeatProbeScript, reloadLoopScript, renderGatewayConfig, resolverIncludeScript } from '../src/index.js';
import { findNginx, NGINX_INSTALL_HINT, testNginxConfig } from './support/nginx.js';

const nginx = findNginx();
if (!nginx) console.warn(`[skipped] resolver include under nginx -t: nginx is not installed (${NGINX_INSTALL_HINT})`);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lookout-gateway-scripts-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(script: string, env: NodeJS.ProcessEnv = process.env) {
  return spawnSync('sh', ['-c', script], { encoding: 'utf8', env });
}

function resolvConf(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('resolverIncludeScript', () => {
  it('writes a resolver directive with the IPv4 nameservers of resolv.conf, AAAA lookups off', () => {
    const input = resolvConf('resolv-v4.conf', '# kubelet\nsearch lookout.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5\n');
    const output = join(dir, 'resolver-v4.conf');
    const run = sh(resolverIncludeScript({ resolvConf: input, output }));
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(output, 'utf8')).toBe('resolver 10.96.0.10 10.96.0.11 valid=10s ipv6=off;\n');
  });

  it('brackets IPv6 nameservers and keeps AAAA lookups then', () => {
    const input = resolvConf('resolv-v6.conf', 'nameserver fd00:10:96::a\n');
    const output = join(dir, 'resolver-v6.conf');
    const run = sh(resolverIncludeScript({ resolvConf: input, output, validSeconds: 30 }));
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(output, 'utf8')).toBe('resolver [fd00:10:96::a] valid=30s;\n');
  });

  it('fails loudly when resolv.conf has no nameserver', () => {
    const input = resolvConf('resolv-empty.conf', 'search example.com\n');
    const run = sh(resolverIncludeScript({ resolvConf: input, output: join(dir, 'resolver-empty.conf') }));
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`no nameserver in ${input}`);
  });

  it('refuses paths a shell would interpret', () => {
    expect(() => resolverIncludeScript({ resolvConf: '/etc/resolv.conf; rm -rf /', output: '/tmp/r' })).toThrow(/resolvConf/);
    expect(() => resolverIncludeScript({ resolvConf: '/etc/resolv.conf', output: '$(id)' })).toThrow(/output/);
    expect(() => reloadLoopScript({ watchDirs: ['/a b'], pidFile: '/tmp/p', heartbeatFile: '/tmp/h', intervalSeconds: 5 })).toThrow(/watchDirs/);
    expect(() => reloadLoopScript({ watchDirs: [], pidFile: '/tmp/p', heartbeatFile: '/tmp/h', intervalSeconds: 5 })).toThrow(/watchDirs/);
    expect(() => reloadLoopScript({ watchDirs: ['/a'], pidFile: '/tmp/p', heartbeatFile: '/tmp/h', intervalSeconds: 0 })).toThrow(/intervalSeconds/);
    expect(() => heartbeatProbeScript('`id`', 30)).toThrow(/heartbeatFile/);
  });

  describe.skipIf(!nginx)(`the include under nginx -t (skipped when nginx is missing: ${NGINX_INSTALL_HINT})`, () => {
    it('is accepted by nginx -t in a config that includes it', () => {
      const include = join(dir, 'resolver-for-nginx.conf');
      const run = sh(resolverIncludeScript({ resolvConf: resolvConf('resolv-nginx.conf', 'nameserver 10.96.0.10\nnameserver fd00::a\n'), output: include }));
      expect(run.status, run.stderr).toBe(0);
      mkdirSync(join(dir, 'tenants'), { recursive: true });
      const configFile = join(dir, 'nginx.conf');
      writeFileSync(
        configFile,
        renderGatewayConfig({
          domain: 'obs.example.com',
          public: { address: '127.0.0.1', port: 18443, tls: null },
          internal: { address: '127.0.0.1', port: 18080 },
          tenantsDir: join(dir, 'tenants'),
          upstreams: {
            distributor: 'http://cortex-distributor.lookout.svc.cluster.local:8080',
            queryFrontend: 'http://cortex-query-frontend.lookout.svc.cluster.local:8080',
            ruler: 'http://cortex-ruler.lookout.svc.cluster.local:8080',
            alertmanager: 'http://cortex-alertmanager.lookout.svc.cluster.local:8080',
            lokiWrite: 'http://loki-write.lookout.svc.cluster.local:3100',
            lokiRead: 'http://loki-read.lookout.svc.cluster.local:3100',
            lokiBackend: 'http://loki-backend.lookout.svc.cluster.local:3100',
            grafana: 'http://grafana.tenant-{tenant}.svc.cluster.local:3000',
          },
          resolver: { include },
          limits: { pushBodySize: '16m', apiBodySize: '4m', grafanaBodySize: '32m', requestsPerSecond: 10, burst: 10 },
          paths: { pidFile: join(dir, 'nginx.pid'), tempDir: dir, accessLog: join(dir, 'access.log'), errorLog: join(dir, 'error.log') },
          workerProcesses: 1,
        }),
      );
      // An empty tenants directory (no tenant yet) is fine: the include globs match nothing.
      const check = testNginxConfig(nginx!, dir, configFile);
      expect(check.output).toContain('test is successful');
      expect(check.ok).toBe(true);
    });
  });
});

describe('gatewayStartScript', () => {
  it('writes the resolver include, then execs nginx in the foreground with the generated config', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const calls = join(dir, 'nginx-calls');
    // A stand-in for nginx that records its arguments and whether the include existed by then.
    writeFileSync(join(bin, 'nginx'), `#!/bin/sh\nprintf '%s|' "$@" > ${calls}\ntest -s ${join(dir, 'start-resolver.conf')} && echo include-written >> ${calls}\n`);
    chmodSync(join(bin, 'nginx'), 0o755);
    const script = gatewayStartScript({
      resolvConf: resolvConf('resolv-start.conf', 'nameserver 172.20.0.10\n'),
      output: join(dir, 'start-resolver.conf'),
      configFile: '/etc/lookout/nginx/nginx.conf',
    });
    const run = sh(script, { ...process.env, PATH: `${bin}:${process.env.PATH}` });
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(calls, 'utf8')).toBe('-c|/etc/lookout/nginx/nginx.conf|-g|daemon off;|include-written\n');
    expect(readFileSync(join(dir, 'start-resolver.conf'), 'utf8')).toBe('resolver 172.20.0.10 valid=10s ipv6=off;\n');
  });

  it('stops before nginx when the resolver cannot be written', () => {
    const calls = join(dir, 'nginx-calls-fail');
    const bin = join(dir, 'bin-fail');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'nginx'), `#!/bin/sh\necho called > ${calls}\n`);
    chmodSync(join(bin, 'nginx'), 0o755);
    const script = gatewayStartScript({ resolvConf: resolvConf('resolv-none.conf', ''), output: join(dir, 'fail-resolver.conf'), configFile: '/x/nginx.conf' });
    const run = sh(script, { ...process.env, PATH: `${bin}:${process.env.PATH}` });
    expect(run.status).not.toBe(0);
    expect(() => readFileSync(calls)).toThrow();
  });
});
