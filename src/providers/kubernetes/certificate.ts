/** The certificate and key files of `kubernetes.certificate`, read when the tls step runs. */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import type { KeyAndCertificate } from '../../tls/certificate.js';
import type { KubernetesConfig } from './config.js';
import { expandPath } from './kubeconfig.js';

export async function readProvidedFiles(files: NonNullable<KubernetesConfig['certificate']>): Promise<KeyAndCertificate> {
  const read = async (field: 'certificateFile' | 'privateKeyFile') => {
    const path = expandPath(files[field]);
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new UsageError(`kubernetes.certificate.${field}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { certificatePem: await read('certificateFile'), privateKeyPem: await read('privateKeyFile') };
}
