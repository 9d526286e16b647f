// A process opening fresh data dirs' secrets at the same moment as others (test/replicas.e2e-spec.ts): it loads
// everything, says "ready", then for each data dir named on a line of its stdin reads or creates that dir's
// invitation secret and audit signing key, and answers a JSON line. One process serves every round: loading the code
// (~1.5 s) once per process instead of once per round.
import { createInterface } from 'node:readline';
import { loadOrCreateSigningKey } from '../../libs/audit/src/signing-key';
import { loadLocalSecrets } from '../../apps/api/src/shared/secrets';

const opened = (dataDir: string): object => {
  try {
    const { invitationSecret } = loadLocalSecrets(dataDir, { systemApiKey: 'rk_system_first-start-child-0123456789' });
    const signingKey = loadOrCreateSigningKey(dataDir).toString('base64');
    return { invitationSecret, signingKey };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
};

createInterface({ input: process.stdin }).on('line', (dataDir) => process.stdout.write(`${JSON.stringify(opened(dataDir))}\n`));
process.stdout.write('ready\n');
