/**
 * Client allow-lists under the REAL nginx: different 127.0.0.x source addresses on loopback are
 * different clients. The instance-wide list (geo) and a tenant's own list (its clients file,
 * replacing the instance's) are both enforced on the public data APIs before any token check.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientsFileName, renderTenantClientEntries } from '../src/index.js';
import { findNginx, NGINX_INSTALL_HINT } from './support/nginx.js';
import { startSmallGateway, type SmallGateway } from './support/small-gateway.js';

const nginx = findNginx();
if (!nginx) console.warn(`[skipped] client allow-lists under real nginx: nginx is not installed (${NGINX_INSTALL_HINT})`);

const TOKENS = { shared: 'lk_shared_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL', own: 'lk_own_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN' };

describe.skipIf(!nginx)(`client allow-lists under real nginx (skipped when nginx is missing: ${NGINX_INSTALL_HINT})`, () => {
  let gw: SmallGateway;

  beforeAll(async () => {
    gw = await startSmallGateway(nginx!, { allowedClientCidrs: ['127.0.0.1/32', '127.0.1.0/24', '2001:db8::/32'] });
    gw.writeTenant('shared', [TOKENS.shared]);
    gw.writeTenant('own', [TOKENS.own]);
    writeFileSync(join(gw.tenantsDir, clientsFileName('own')), renderTenantClientEntries('own', ['127.0.0.3/32', '127.0.2.0/23']));
    await gw.nginx.reload();
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const push = (tenant: 'shared' | 'own', from: string, token = TOKENS[tenant]) => gw.publicRequest(tenant, '/api/v1/push', { method: 'POST', token, from });

  it('admits the instance’s networks to a tenant without its own list, and refuses others with 403 naming the address', async () => {
    for (const from of ['127.0.0.1', '127.0.1.9', '127.0.1.254']) expect((await push('shared', from)).status, from).toBe(200);
    for (const from of ['127.0.0.2', '127.0.2.1', '127.1.1.1']) {
      const before = gw.reached.length;
      const res = await push('shared', from);
      expect(res.status, from).toBe(403);
      expect(res.body).toBe(`client address ${from} may not call these APIs\n`);
      expect(gw.reached.length).toBe(before);
    }
  });

  it('uses a tenant’s own list instead of the instance’s', async () => {
    for (const from of ['127.0.0.3', '127.0.2.1', '127.0.3.255']) expect((await push('own', from)).status, from).toBe(200);
    // 127.0.0.1 is on the instance's list, not on this tenant's.
    for (const from of ['127.0.0.1', '127.0.1.9', '127.0.4.0']) expect((await push('own', from)).status, from).toBe(403);
  });

  it('refuses before looking at the token, and leaves Grafana and the internal listener alone', async () => {
    const res = await push('shared', '127.0.0.2', 'lk_nobody_0123456789abcdefghijklmnopqrstuvwxyzABCDEF');
    expect(res.status).toBe(403);
    expect(res.body).toContain('may not call these APIs');
    expect((await gw.publicRequest('shared', '/login', { from: '127.0.0.2' })).status).toBe(200);
    expect((await gw.internalRequest('/api/v1/push', { method: 'POST', token: TOKENS.own })).status).toBe(200);
  });

  it('applies a changed tenant list on a reload', async () => {
    writeFileSync(join(gw.tenantsDir, clientsFileName('own')), renderTenantClientEntries('own', ['127.0.0.2/32']));
    await gw.nginx.reload();
    expect((await push('own', '127.0.0.2')).status).toBe(200);
    expect((await push('own', '127.0.0.3')).status).toBe(403);
  });
});
