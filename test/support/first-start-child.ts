// A process opening a fresh data dir's secrets at the same moment as others (test/replicas.e2e-spec.ts): it loads
// everything, says "ready", and on "go" reads or creates the invitation secret and the audit signing key.
import { loadOrCreateSigningKey } from '../../libs/audit/src/signing-key';
import { loadLocalSecrets } from '../../apps/api/src/shared/secrets';

const dataDir = process.argv[2]!;
process.stdin.once('data', () => {
  try {
    const { invitationSecret } = loadLocalSecrets(dataDir, { systemApiKey: 'rk_system_first-start-child-0123456789' });
    const signingKey = loadOrCreateSigningKey(dataDir).toString('base64');
    process.stdout.write(`${JSON.stringify({ invitationSecret, signingKey })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
  }
  process.exit(0);
});
process.stdout.write('ready\n');
