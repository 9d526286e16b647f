import { MAIL_NAME_MAX, accessInWords, confirmationMailText, invitationMailText, isolated, nameForMail, readableUtc } from './mail-text';

const facts = {
  organizationName: 'Acme',
  workspaceName: 'Support',
  inviterName: 'Grace Hopper',
  access: 'as agent',
  inviteUrl: 'https://console.acme.test/invite?token=t',
  expiresAt: '2026-12-08T04:15:52.715Z',
};

describe('rule 7: the invitation mail says who invites, to what, with which access, until when (probe 65 F1)', () => {
  it('names the organization, the workspace, the sender and the access; the expiry in words, in UTC', () => {
    const { subject, text } = invitationMailText(facts);
    expect(subject).toBe(`${isolated('Acme')}: you are invited to ${isolated('Support')}`);
    expect(text).toBe(
      `${isolated('Grace Hopper')} invited you to join ${isolated('Support')}, a workspace of ${isolated('Acme')}, as agent.\n\n` +
        'Accept the invitation: https://console.acme.test/invite?token=t\n\n' +
        'The link is valid until 8 December 2026 at 04:15 UTC. If you did not expect this invitation, ignore this email: nothing happens without the link.',
    );
  });

  it('two organizations\' workspaces of one name no longer read the same', () => {
    expect(invitationMailText(facts).text).not.toBe(invitationMailText({ ...facts, organizationName: 'Globex' }).text);
  });

  it('without a sender with a name (the system key, a user without one): "You are invited"', () => {
    expect(invitationMailText({ ...facts, inviterName: null }).text).toMatch(/^You are invited to join \u2068Support\u2069, a workspace of \u2068Acme\u2069, as agent\.\n/);
  });

  it('a right-to-left name is isolated: the full stop after it stays after it', () => {
    const { text } = invitationMailText({ ...facts, workspaceName: 'دعم العملاء', inviterName: null, access: 'as a member' });
    expect(text.startsWith('You are invited to join \u2068دعم العملاء\u2069, a workspace of')).toBe(true);
  });

  it('probe 66 F4: a sender\'s name that a mail client would make a link of, or a long one, is not quoted (the name is the sender\'s own words)', () => {
    // and as a browser reads a host: full-width letters and dots, the ideographic and other dots IDNA takes as `.` (probe 73 F6)
    for (const name of ['Acme IT. Your mailbox is full; sign in at https://acme-it.example/login', 'visit www.evil.test', 'ask it@acme.test', 'acme-it.example', 'Support.Desk', 'ｗｗｗ．ｅｖｉｌ．ｃｏｍ', 'evil。com', 'evil．com', 'evil․com', 'evil｡com'])
      expect({ name, quoted: nameForMail(name) }).toEqual({ name, quoted: null });
    for (const name of ['Grace Hopper', 'Dr. Ann O\'Neil', 'J.R.R. Tolkien', 'Łukasz Żółć', 'دعم العملاء', '李小龍', '山田 太郎', 'ＡＢＣ Support'])
      expect(nameForMail(name)).toBe(name);
    expect(nameForMail('a'.repeat(MAIL_NAME_MAX))).toBe('a'.repeat(MAIL_NAME_MAX));
    expect(nameForMail('a'.repeat(MAIL_NAME_MAX + 1))).toBeNull();
  });

  it('the access in words, per access model', () => {
    expect(accessInWords({ roles: ['agent'], grants: [], restrictions: {} }, 'levels')).toBe('as agent');
    expect(accessInWords({ roles: ['operator', 'analyst', 'environment_manager'], grants: [], restrictions: {} }, 'studio')).toBe('as operator, analyst and environment manager');
    expect(accessInWords({ roles: ['member'], grants: [], restrictions: {} }, 'permissions')).toBe('as a member');
    expect(accessInWords({ roles: ['member'], grants: ['reporting'], restrictions: {} }, 'permissions')).toBe('as a member with the reporting permission');
    expect(accessInWords({ roles: ['member'], grants: ['reporting', 'users', 'ib_designer'], restrictions: {} }, 'permissions')).toBe('as a member with the reporting, users and ib designer permissions');
  });
});

describe('rule 10: the confirmation mail names the organization of the account', () => {
  it('says which account the new address is for, and the expiry in words', () => {
    const { subject, text } = confirmationMailText({ organizationName: 'Acme', confirmUrl: 'https://console.acme.test/confirm-email?token=t', expiresAt: '2026-12-08T04:15:00.000Z' });
    expect(subject).toBe(`${isolated('Acme')}: confirm your new email address`);
    expect(text).toContain(`the email address of your account in ${isolated('Acme')}.`);
    expect(text).toContain('valid until 8 December 2026 at 04:15 UTC.');
  });

  it('a time is read in UTC whatever the process\'s zone', () => {
    expect(readableUtc('2026-01-01T00:05:00.000Z')).toBe('1 January 2026 at 00:05 UTC');
  });
});
