/** An instance record as `create` writes it, for tests that need one in some state. */
import type { InstanceRecord } from '../../src/state/instance-record.js';

export function testRecord(o: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    version: 1,
    name: 'prod',
    provider: 'aws',
    region: 'eu-west-1',
    accountId: '111122223333',
    bundle: '2026.11.0',
    config: {} as InstanceRecord['config'],
    status: 'ready',
    createdAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
    ...o,
  };
}
