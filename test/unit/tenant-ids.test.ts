import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileStore } from '../../src/pulumi/diy-store.js';
import { SecretStore } from '../../src/state/secret-store.js';
import { allocateTenantIds, ensureTenantIds, retireTenantId, retireTenantIdIn, TENANT_IDS_KEY, tenantIdOf, type TenantIds } from '../../src/tenants/tenant-ids.js';

describe('tenant ids', () => {
  const at = (day: number) => new Date(Date.UTC(2026, 11, day));

  it('gives a first tenant its name, keeps a live id, and a new generation after each removal', () => {
    let r = allocateTenantIds({}, ['acme', 'beta'], at(1));
    expect([r.acme!.id, r.beta!.id]).toEqual(['acme', 'beta']);
    expect(allocateTenantIds(r, ['acme'], at(2))).toEqual(r);
    r = retireTenantId(r, 'acme', at(3));
    expect(r.acme!.removedAt).toBe(at(3).toISOString());
    expect(retireTenantId(r, 'acme', at(4))).toBe(r);
    r = allocateTenantIds(r, ['acme'], at(5));
    expect(r.acme).toEqual({ generation: 2, id: 'acme.2', createdAt: at(5).toISOString() });
    expect(r.beta!.id).toBe('beta');
  });

  it('never makes an id that is another tenant’s name', () => {
    expect(tenantIdOf('acme', 2)).toBe('acme.2');
    expect(tenantIdOf('acme-2', 1)).toBe('acme-2');
    expect(/^[a-z0-9-]+$/.test(tenantIdOf('acme', 2))).toBe(false);
  });

  it('tenant steps running at the same time each get their id, and a retirement among them is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-ids-'));
    try {
      const store = new SecretStore(fileStore(dir), 'prod', 'pw');
      await ensureTenantIds(store, ['gone']);
      const names = Array.from({ length: 10 }, (_, i) => `team-${i}`);
      const ids = await Promise.all([...names.map((n) => ensureTenantIds(store, [n])), retireTenantIdIn(store, 'gone')]);
      expect(ids.slice(0, 10)).toEqual(names.map((n) => ({ [n]: n })));
      const registry = (await new SecretStore(fileStore(dir), 'prod', 'pw').get<TenantIds>(TENANT_IDS_KEY))!;
      expect(Object.keys(registry).sort()).toEqual([...names, 'gone'].sort());
      expect(registry.gone!.removedAt).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
