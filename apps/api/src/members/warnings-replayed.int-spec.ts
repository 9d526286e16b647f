// A write answered from the log (its first answer was lost, or another replica decided it) answers what the first
// did, warnings included (docs/rules.md "Idempotent ids"; review, session 26: a replay answered without them). Two
// replicas are two StreamHandlers with their own states over one embedded store; no stored answer is involved.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventStore, createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { AcceptInvitationCommand, AcceptInvitationHandler, InviteMemberCommand, InviteMemberHandler } from '../invitations/invitation-handlers';
import { ChangeAccessCommand, ChangeAccessHandler } from './member-handlers';
import { newCommandContext } from '../shared/command-path/command-context';
import type { InvitationMail, InvitationMailer } from '../mail/mailer';
import { DerivedSecrets, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';

const SECRET = 'warnings-test-secret-0123456789abcdef01234567';
const WARNING = /ib_publisher was granted without settings/;

let dir: string;
let store: EventStore;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-warnings-'));
  store = (await createRollcallEventStore({ dataDir: dir, durability: 'normal' })).store;
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** the mails the replicas sent (the outbox file is not this test's business) */
const sent: InvitationMail[] = [];
const mailer: InvitationMailer = {
  send: async (mail) => void sent.push(mail),
  sendEmailConfirmation: async () => undefined,
};

function replica() {
  const streams = new StreamHandler(store, new StreamStates(store));
  const links = new InvitationLinks(SECRET, 'https://console.test');
  return {
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, links, mailer, { invitationTtlSeconds: 172_800 } as Config),
    accept: new AcceptInvitationHandler(streams, links),
    change: new ChangeAccessHandler(streams),
  };
}

describe('rule 6 and rule 10: the ib_publisher warning in an answer read back from the log', () => {
  it('an invitation and an access change granting ib_publisher without settings warn again when the same request is answered from the log by another replica', async () => {
    const [first, second] = [replica(), replica()];
    const org = await first.createOrg.execute(new CreateOrganizationCommand(newCommandContext({ actorId: 'system' }), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }));
    const admin = org.adminUserId;
    const { workspaceId } = await first.createWorkspace.execute(new CreateWorkspaceCommand(newCommandContext({ actorId: admin }), org.organizationId, { name: 'W', accessModel: 'permissions' }));
    const ref = { organizationId: org.organizationId, workspaceId };
    const keyed = (idempotencyKey: string) => newCommandContext({ actorId: admin, idempotencyKey, requestHash: idempotencyKey });

    const invite = (r: ReturnType<typeof replica>) => r.invite.execute(new InviteMemberCommand(ref, keyed('invite-1'), { email: 'pub@acme.test', grants: ['ib_publisher'] }));
    const invited = await invite(first);
    expect(invited.warnings).toEqual([expect.stringMatching(WARNING)]);
    expect(await invite(second)).toEqual(invited);
    // (a replay answered from the log mails its link again while it is the current one: the first attempt's process
    // may have died before its mail, ADR 0018 — the same link twice, never another)
    expect(sent.map((m) => [m.to, m.inviteUrl])).toEqual([
      ['pub@acme.test', invited.inviteUrl],
      ['pub@acme.test', invited.inviteUrl],
    ]);

    const { userId } = await first.accept.execute(new AcceptInvitationCommand(newCommandContext({ actorId: 'invitee' }), new URL(invited.inviteUrl).searchParams.get('token')!));
    const change = (r: ReturnType<typeof replica>) => r.change.execute(new ChangeAccessCommand(ref, keyed('change-1'), userId, { grants: ['ib_publisher', 'reporting'] }));
    const changed = await change(first);
    expect(changed.warnings).toEqual([expect.stringMatching(WARNING)]);
    expect(await change(second)).toEqual(changed);
  });
});
