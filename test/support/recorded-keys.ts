import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DerivedSecrets } from '../../apps/api/src/shared/secrets';

/**
 * The client's Idempotency-Key an event's metadata records (keyed by the data dir's invitation secret since session
 * 33, docs/adr/0004): given the keys the test sent, a function from an event's `idempotencyKey` to the key sent (the
 * last segment when it is none of them: a key made by the server). For tests that find each command's events in the
 * log by the key they sent it with.
 */
export function clientKeyOf(dataDir: string, sent: Iterable<string>): (recorded: unknown) => string {
  const { invitationSecret } = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { invitationSecret: string };
  const secrets = new DerivedSecrets(invitationSecret);
  const lastSegment = (key: string) => key.split(':').pop()!;
  const byRecorded = new Map([...sent].map((key) => [lastSegment(secrets.recordedKey('', key)), key]));
  return (recorded) => {
    const last = lastSegment(String(recorded ?? ''));
    return byRecorded.get(last) ?? last;
  };
}
