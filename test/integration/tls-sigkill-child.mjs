// Child process of tls-sigkill.test.ts: runs an issuance from the compiled dist/ and kills
// itself with SIGKILL right after the challenge record is written, as a crash or `kill -9`
// would. Its settings come as JSON on stdin (the TSIG secret never goes on a command line).
import { text } from 'node:stream/consumers';
import { fileStore } from '../../dist/src/pulumi/diy-store.js';
import { SecretStore } from '../../dist/src/state/secret-store.js';
import { LOCAL_CA_BACKOFF } from '../../dist/src/tls/acme.js';
import { issueCertificate, LOCAL_ISSUANCE_TIMING } from '../../dist/src/tls/issue.js';
import { Rfc2136Solver } from '../../dist/src/tls/solvers/rfc2136.js';

const input = JSON.parse(await text(process.stdin));
await issueCertificate({
  domain: input.domain,
  acme: { directoryUrl: input.directoryUrl, caBundlePem: input.caBundlePem, backoff: LOCAL_CA_BACKOFF },
  store: new SecretStore(fileStore(input.stateDir), 'test', 'pw'),
  solver: new Rfc2136Solver({ server: input.server, zone: input.domain, key: input.key }),
  timing: LOCAL_ISSUANCE_TIMING,
  onPhase: (phase, event) => {
    if (phase === 'record-written' && event === 'done') process.kill(process.pid, 'SIGKILL');
  },
});
process.stdout.write('issued\n');
