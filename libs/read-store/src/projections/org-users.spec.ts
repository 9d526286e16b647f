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
    });
  });
});
