import { formatDuration } from '../shared/durations';
import { ADMIN, HOURS_48, Scenario, WS, by, expectError } from '../testing/fixture';

const accept = (s: Scenario, invitationId: string, linkVersion = 1) =>
  s.when({ type: 'AcceptInvitation', workspaceId: WS, now: s.now, invitationId, linkVersion, newUserId: 'new-user' });

const expiredMessage = (s: Scenario, invitationId: string, linkVersion = 1): string => {
  const d = accept(s, invitationId, linkVersion);
  expectError(d, 'INVITATION_EXPIRED');
  return d.ok ? '' : d.error.message;
};

describe('rule 7: the expired-link message states the lifetime the link was given, not always 48 hours', () => {
  it.each([
    [HOURS_48, '48 hours'],
    [3600, '1 hour'],
    [2, '2 seconds'],
    [7 * 24 * 3600, '7 days'],
  ])('a link valid for %i s says "%s"', (ttlSeconds, text) => {
    const s = new Scenario();
    s.given({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv', email: 'jane@acme.test', ttlSeconds });
    s.advance(ttlSeconds);
    const message = expiredMessage(s, 'inv');
    expect(message).toContain(`valid for ${text}`);
    if (ttlSeconds !== HOURS_48) expect(message).not.toContain('48 hours');
  });

  it('a resent link is measured from its resend, with the lifetime it was resent with', () => {
    const s = new Scenario();
    s.given({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv', email: 'jane@acme.test', ttlSeconds: HOURS_48 });
    s.advance(3 * HOURS_48);
    s.given({ type: 'ResendInvitation', ...by(s, ADMIN), invitationId: 'inv', ttlSeconds: 90 * 60 });
    s.advance(90 * 60);
    expect(expiredMessage(s, 'inv', 2)).toContain('valid for 90 minutes');
  });
});

describe('formatDuration', () => {
  it.each([
    [1, '1 second'],
    [59, '59 seconds'],
    [60, '1 minute'],
    [90, '90 seconds'],
    [5400, '90 minutes'],
    [3600, '1 hour'],
    [172_800, '48 hours'],
    [90_000, '25 hours'],
    [604_800, '7 days'],
    [31_536_000, '365 days'],
    [1.4, '1 second'],
  ])('%d s is "%s"', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
