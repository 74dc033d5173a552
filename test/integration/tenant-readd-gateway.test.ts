/**
 * A removed tenant's data never comes back, proven at the gateway under the REAL nginx (the
 * data-plane harness with real Cortex and Loki is another helper's; this is the gateway and
 * registry half): add a tenant, write, remove it, add it again under the same name, query.
 * The ids come from the real registry (src/tenants/tenant-ids.ts), the tenant files from the
 * real renderer, and a stub store behind the gateway keeps data per X-Scope-OrgID as Cortex does.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientsFileName, tenantFileName, tokensFileName } from '../../components/gateway/src/index.js';
import { findNginx, NGINX_INSTALL_HINT } from '../../components/gateway/test/support/nginx.js';
import { startSmallGateway, type SmallGateway } from '../../components/gateway/test/support/small-gateway.js';
import { allocateTenantIds, retireTenantId, type TenantIds } from '../../src/tenants/tenant-ids.js';
import { newToken } from '../../components/tenant/src/tokens.js';

const nginx = findNginx();
if (!nginx) console.warn(`[skipped] tenant re-add at the gateway: nginx is not installed (${NGINX_INSTALL_HINT})`);

describe.skipIf(!nginx)(`a re-added tenant sees nothing of its predecessor (skipped when nginx is missing: ${NGINX_INSTALL_HINT})`, () => {
  let gw: SmallGateway;
  beforeAll(async () => {
    gw = await startSmallGateway(nginx!);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  /** What a store keyed by tenant id holds: the pushes that reached it under each id. */
  const stored = (orgId: string) => gw.reached.filter((r) => r.method === 'POST' && r.url.startsWith('/api/v1/push') && r.orgId === orgId);

  it('add, write, remove, add again: new id, old token refused, queries reach only the new id', async () => {
    let registry: TenantIds = {};
    const t0 = new Date('2026-12-01T00:00:00Z');

    registry = allocateTenantIds(registry, ['acme'], t0);
    const first = { id: registry.acme!.id, token: newToken('acme') };
    expect(first.id).toBe('acme');
    gw.writeTenant('acme', [first.token], first.id);
    await gw.nginx.reload();
    expect((await gw.publicRequest('acme', '/api/v1/push?series=secret-of-the-first', { method: 'POST', token: first.token })).status).toBe(200);
    expect(stored('acme')).toHaveLength(1);

    // Removal: the stack deletes its gateway entry; the registry retires the id.
    for (const file of [tokensFileName('acme'), tenantFileName('acme'), clientsFileName('acme')]) rmSync(join(gw.tenantsDir, file), { force: true });
    await gw.nginx.reload();
    registry = retireTenantId(registry, 'acme', new Date('2026-12-02T00:00:00Z'));
    expect((await gw.publicRequest('acme', '/prometheus/api/v1/query?query=up', { token: first.token })).status).toBe(404);

    registry = allocateTenantIds(registry, ['acme'], new Date('2026-12-03T00:00:00Z'));
    const second = { id: registry.acme!.id, token: newToken('acme') };
    expect(second.id).toBe('acme.2');
    gw.writeTenant('acme', [second.token], second.id);
    await gw.nginx.reload();

    const before = gw.reached.length;
    expect((await gw.publicRequest('acme', '/prometheus/api/v1/query?query=up', { token: second.token })).status).toBe(200);
    const query = gw.reached.slice(before);
    expect(query.map((r) => r.orgId)).toEqual(['acme.2']);
    expect(stored('acme.2'), 'the new tenant id holds nothing from before').toEqual([]);
    // The old token is gone with the old tenant: refused, even on the re-added host.
    expect((await gw.publicRequest('acme', '/prometheus/api/v1/query?query=up', { token: first.token })).status).toBe(401);
    // A third life gets a third id.
    registry = allocateTenantIds(retireTenantId(registry, 'acme', new Date('2026-12-04T00:00:00Z')), ['acme'], new Date('2026-12-05T00:00:00Z'));
    expect(registry.acme).toMatchObject({ generation: 3, id: 'acme.3' });
  });
});
