import { describe, expect, it } from 'vitest';
import { describeCertificate, instanceCertificateNames, renewalDue, renewalReason } from '../../src/tls/certificate.js';
import { selfSignedCertificate } from '../support/self-signed.js';

describe('instance certificate', () => {
  it('covers the domain and every host below it', async () => {
    const names = instanceCertificateNames('obs.example.com');
    expect(names).toEqual(['*.obs.example.com', 'obs.example.com']);
    const { certificatePem, privateKeyPem } = await selfSignedCertificate(names, { days: 90 });
    const info = await describeCertificate(certificatePem);
    expect(info.names).toEqual(names);
    expect(info.selfSigned).toBe(true);
    expect(privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(Date.parse(info.notAfter) - Date.parse(info.notBefore)).toBeGreaterThan(89 * 86_400_000);
  });

  it('is reused until two thirds of its lifetime, then renewed', async () => {
    const now = new Date('2026-11-01T00:00:00Z');
    const names = instanceCertificateNames('obs.example.com');
    const info = await describeCertificate((await selfSignedCertificate(names, { days: 90, now })).certificatePem);
    const due = renewalDue(info);
    expect(renewalReason(info, names, new Date(due.getTime() - 1000))).toBeUndefined();
    expect(renewalReason(info, names, due)).toBe('two-thirds-elapsed');
    expect(renewalReason(info, names, new Date(Date.parse(info.notAfter) + 1))).toBe('expired');
    expect(renewalReason(info, [...names, 'extra.example.com'], now)).toBe('names-changed');
    expect(renewalReason(info, names, now, true)).toBe('forced');
    expect(renewalReason(undefined, names, now)).toBe('missing');
    // Day 60 of 90 is the two-thirds point.
    expect(Math.round((due.getTime() - Date.parse(info.notBefore)) / 86_400_000)).toBe(60);
  });
});
