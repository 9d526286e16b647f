// A retried organization creation answered from a stored answer, or from the log, gives the API key the organization
// has: its key id as the log recorded it, not as this version would derive it (probe 57 F8: after an upgrade from a
// version of sessions 33–40, which derived the key id from the Idempotency-Key in clear, the replay answered a key
// whose id did not exist: 401 for the one key the client was ever shown).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_ACTOR, decideOrganization } from '@rollcall/domain';
import { type EventStore, createRollcallEventStore } from '@rollcall/event-store';
import { createdId, newCommandContext } from '../shared/command-path/command-context';
import { DerivedSecrets, formatOrgKey, sha256 } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { organization } from '../shared/command-path/targets';
import { CreateOrganizationCommand, CreateOrganizationHandler } from './create-organization';

const SECRET = 'create-org-replay-secret-0123456789abcdef0123';

let dir: string;
let store: EventStore;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-create-org-replay-'));
  store = (await createRollcallEventStore({ dataDir: dir, durability: 'normal' })).store;
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('probe 57 F8: a replay (stored answer or the log) answers the key id the organization has, also one an earlier version derived otherwise', async () => {
  const secrets = new DerivedSecrets(SECRET);
  const streams = new StreamHandler(store, new StreamStates(store));
  const handler = new CreateOrganizationHandler(streams, secrets);
  const ctx = newCommandContext({ actorId: SYSTEM_ACTOR, idempotencyKey: 'system:org-1', recordedKey: secrets.recordedKey('system', 'org-1'), requestHash: 'h' });
  const organizationId = createdId(ctx, 'organization');
  const adminUserId = createdId(ctx, 'admin');
  const secret = secrets.forWrite('organization-api-key', ctx.idempotencyKey);
  // the organization as an earlier version wrote it: the same ids and secret, a key id derived another way
  const done = await streams.handle(organization(organizationId), ctx, (org) =>
    decideOrganization(
      { type: 'CreateOrganization', organizationId, actorId: SYSTEM_ACTOR, now: ctx.now, name: 'Acme', admin: { userId: adminUserId, email: 'ada@acme.test', displayName: 'Ada' }, apiKey: { keyId: 'key-id-of-an-earlier-version', secretHash: sha256(secret) } },
      org,
    ),
  );
  const theKey = formatOrgKey(organizationId, 'key-id-of-an-earlier-version', secret);
  // its stored answer (the key left out) restored
  expect(await handler.storage.restored({ organizationId, adminUserId, position: done.position }, ctx, undefined)).toEqual({ organizationId, adminUserId, position: done.position, apiKey: theKey });
  // no stored answer: the retry finds its events in the log
  expect(await handler.execute(new CreateOrganizationCommand(ctx, 'Acme', { email: 'ada@acme.test', displayName: 'Ada' }))).toMatchObject({ organizationId, adminUserId, apiKey: theKey });
  // an organization this version created: the key id as it derives it
  const fresh = newCommandContext({ actorId: SYSTEM_ACTOR, idempotencyKey: 'system:org-2', recordedKey: secrets.recordedKey('system', 'org-2'), requestHash: 'h' });
  const created = await handler.execute(new CreateOrganizationCommand(fresh, 'Beta', { email: 'bea@beta.test', displayName: 'Bea' }));
  expect(created.apiKey).toBe(formatOrgKey(created.organizationId, createdId(fresh, 'api-key'), secrets.forWrite('organization-api-key', fresh.idempotencyKey)));
  expect(await handler.storage.restored({ organizationId: created.organizationId, adminUserId: created.adminUserId, position: created.position }, fresh, undefined)).toEqual(created);
});
