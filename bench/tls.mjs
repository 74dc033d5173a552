// Certificate issuance: a full issuance for `<domain>` and `*.<domain>` against a local pebble
// (ACME test CA) and bind9 (RFC 2136 updates), median of 5. Target: at most 1 s.
//
// One issuance is everything `lookout` does for a new certificate: the order, the challenge
// record written with nsupdate, checked at the zone's server, validated by the CA, removed,
// then the order finalized and the certificate downloaded. The runs share one instance state,
// as successive runs of one instance do: the first registers the ACME account, the others
// reuse it. Storing the certificate in the encrypted instance state is timed on its own
// (`storeMs`): it is a fixed scrypt cost unrelated to ACME.
//
// The code measured is the compiled dist/ (run `npx tsc -b` first). The servers are started
// and stopped here, with the same helpers the integration tests use (TypeScript, loaded
// through Vite, which the test runner already brings).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const DOMAIN = 'obs.example.test';

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function loadSupport() {
  const { runnerImport } = await import('vite');
  const load = async (file) => (await runnerImport(join(root, file), { configFile: false, logLevel: 'silent' })).module;
  return { bind9: await load('test/support/bind9.ts'), pebble: await load('test/support/pebble.ts') };
}

export async function benchIssuance({ runs = 5 } = {}) {
  const dist = (file) => import(pathToFileURL(join(root, 'dist/src', file)).href);
  const [{ SecretStore }, { fileStore }, { LOCAL_CA_BACKOFF }, { issueCertificate, LOCAL_ISSUANCE_TIMING }, { Rfc2136Solver }, { TLS_CERTIFICATE_SECRET }] =
    await Promise.all([
      dist('state/secret-store.js'),
      dist('pulumi/diy-store.js'),
      dist('tls/acme.js'),
      dist('tls/issue.js'),
      dist('tls/solvers/rfc2136.js'),
      dist('tls/ensure.js'),
    ]);
  const support = await loadSupport();
  const missing = [support.bind9.bind9Missing(), support.pebble.pebbleMissing()].filter(Boolean);
  if (missing.length > 0) throw new Error(`cannot run the TLS benchmark: ${missing.join('; ')}`);

  const work = await mkdtemp(join(tmpdir(), 'lookout-bench-tls-'));
  const bind = await support.bind9.startBind9({ zones: [{ name: DOMAIN }] });
  let pebble;
  try {
    pebble = await support.pebble.startPebble({ dnsServer: bind.server });
    const store = new SecretStore(fileStore(join(work, 'state')), 'bench', 'bench-passphrase');
    const solver = new Rfc2136Solver({ server: bind.server, zone: DOMAIN, key: bind.key });
    const timesMs = [];
    let certificate;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      certificate = await issueCertificate({
        domain: DOMAIN,
        acme: { directoryUrl: pebble.directoryUrl, caBundlePem: pebble.httpsCaPem, backoff: LOCAL_CA_BACKOFF },
        store,
        solver,
        timing: LOCAL_ISSUANCE_TIMING,
      });
      timesMs.push(Math.round(performance.now() - started));
      const left = await bind.txt(`_acme-challenge.${DOMAIN}`);
      if (left.length > 0) throw new Error(`run ${i + 1} left challenge records: ${left.join(', ')}`);
    }
    const storeStarted = performance.now();
    await store.set(TLS_CERTIFICATE_SECRET, { certificatePem: certificate.certificatePem, privateKeyPem: certificate.privateKeyPem });
    const storeMs = Math.round(performance.now() - storeStarted);
    const medianMs = median(timesMs);
    return {
      benchmark: `full issuance of ${DOMAIN} + *.${DOMAIN} (pebble + bind9, RFC 2136)`,
      runs,
      medianMs,
      timesMs,
      storeMs,
      targetMs: 1000,
      withinTarget: medianMs <= 1000,
      names: certificate.info.names,
    };
  } finally {
    await pebble?.stop();
    await bind.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchIssuance().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
