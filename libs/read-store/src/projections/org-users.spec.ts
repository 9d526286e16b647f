import { mailStream } from '@rollcall/domain';
import { ORG_USERS, type OrgUserDoc, orgUsersProjection } from './org-users';
import { MemoryModel } from './testing/memory-model';
import { LOG_T0 } from './testing/event-log';
import { LogScenario } from './testing/scenario';

const build = async (s: LogScenario) => new MemoryModel(orgUsersProjection).run(s.events);

describe('org_users projection', () => {
  it('holds the first admin and the users who joined by accepting an invitation', async () => {
    const s = new LogScenario().member('bob', {}, 'ws-1', 'Bob B');
    const m = await build(s);
    expect(m.all<OrgUserDoc>(ORG_USERS)).toEqual([
      {
        _id: 'org-1:admin',
        organizationId: 'org-1',
        userId: 'admin',
        email: 'ada@acme.test',
        displayName: 'Ada Admin',
        alias: null,
        avatarUrl: null,
        orgAdmin: true,
        deleted: false,
        joinedAt: LOG_T0,
        deletedAt: null,
        emailConfirmation: null,
      },
      expect.objectContaining({ _id: 'org-1:bob', userId: 'bob', email: 'bob@acme.test', displayName: 'Bob B', orgAdmin: false }),
    ]);
  });

  it('applies profile changes, and erases personal data of a deleted user but keeps the pseudonymous id (rule 12)', async () => {
    const s = new LogScenario().member('cy').member('di');
    s.profile('cy', { alias: 'Cee', avatarUrl: 'https://img.test/c.png', email: 'cy2@acme.test' });
    s.advance(60).deleteUser('di');
    const m = await build(s);
    expect(m.get(ORG_USERS, 'org-1:cy')).toMatchObject({ email: 'cy2@acme.test', alias: 'Cee', avatarUrl: 'https://img.test/c.png', displayName: 'cy' });
    expect(m.get(ORG_USERS, 'org-1:di')).toEqual({
      _id: 'org-1:di',
      organizationId: 'org-1',
      userId: 'di',
      email: null,
      displayName: null,
      alias: null,
      avatarUrl: null,
      orgAdmin: false,
      deleted: true,
      joinedAt: LOG_T0,
      deletedAt: '2026-03-01T09:01:00.000Z',
      emailConfirmation: null,
    });
  });

  it("probe 106 F5: a user says what became of their pending email change's mail; a new link waits for its own record; an older link's record changes nothing", async () => {
    const s = new LogScenario().member('eve');
    // the ledger's records of a confirmation's mail (apps/api/src/mail/mail-ledger.ts), on the organization's mail stream
    const record = (type: 'EmailConfirmationMailed' | 'EmailConfirmationMailRefused', version: number, at: string) => {
      const last = s.events.at(-1)!;
      s.events.push({
        id: `${type}-${version}-${at}`,
        stream: mailStream('org-1'),
        type,
        revision: 0n,
        position: last.position + 1n,
        created: new Date(at),
        metadata: { occurredAt: at },
        data: { organizationId: 'org-1', userId: 'eve', version, ...(type === 'EmailConfirmationMailed' ? { mailedAt: at } : { refusedAt: at }) },
      });
    };
    const confirmation = async () => (await build(s)).get<OrgUserDoc>(ORG_USERS, 'org-1:eve')?.emailConfirmation;
    const first = s.requestEmail('eve', 'eve@new.test');
    expect(await confirmation()).toEqual({ version: first, mailedAt: null, mailRefusedAt: null });
    record('EmailConfirmationMailed', first, '2026-03-01T09:00:01.000Z');
    expect(await confirmation()).toEqual({ version: first, mailedAt: '2026-03-01T09:00:01.000Z', mailRefusedAt: null });
    const second = s.advance(60).requestEmail('eve', 'eve@other.test');
    expect(await confirmation()).toEqual({ version: second, mailedAt: null, mailRefusedAt: null });
    // the dispatcher's late record of the first link
    record('EmailConfirmationMailed', first, '2026-03-01T09:01:05.000Z');
    expect(await confirmation()).toEqual({ version: second, mailedAt: null, mailRefusedAt: null });
    record('EmailConfirmationMailRefused', second, '2026-03-01T09:01:06.000Z');
    expect(await confirmation()).toEqual({ version: second, mailedAt: null, mailRefusedAt: '2026-03-01T09:01:06.000Z' });
    s.deleteUser('eve');
    expect(await confirmation()).toBeNull();
  });
});
