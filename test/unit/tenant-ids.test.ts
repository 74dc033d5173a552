import { describe, expect, it } from 'vitest';
import { allocateTenantIds, retireTenantId, tenantIdOf } from '../../src/tenants/tenant-ids.js';

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
});
