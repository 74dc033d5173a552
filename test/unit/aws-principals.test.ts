import { describe, expect, it } from 'vitest';
import { isPrincipalAmong, principalOf } from '../../src/providers/aws/infra-steps.js';

describe('cluster admin principals', () => {
  it('reads the role behind an assumed-role session, and roles and users with paths', () => {
    expect(principalOf('arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_abc/jane@example.com')).toEqual({
      account: '111122223333',
      kind: 'role',
      name: 'AWSReservedSSO_Admin_abc',
    });
    expect(principalOf('arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_abc')).toEqual({
      account: '111122223333',
      kind: 'role',
      name: 'AWSReservedSSO_Admin_abc',
    });
    expect(principalOf('arn:aws:iam::111122223333:user/ci')).toEqual({ account: '111122223333', kind: 'user', name: 'ci' });
    expect(principalOf('not an arn')).toBeUndefined();
  });

  it('matches a session against the admins by role, account and kind', () => {
    const session = 'arn:aws:sts::111122223333:assumed-role/platform-team/jane';
    expect(isPrincipalAmong(session, ['arn:aws:iam::111122223333:role/platform-team'])).toBe(true);
    expect(isPrincipalAmong(session, ['arn:aws:iam::999999999999:role/platform-team'])).toBe(false);
    expect(isPrincipalAmong(session, ['arn:aws:iam::111122223333:user/platform-team'])).toBe(false);
    expect(isPrincipalAmong(session, ['arn:aws:iam::111122223333:role/other'])).toBe(false);
    expect(isPrincipalAmong(session, [])).toBe(false);
  });
});
