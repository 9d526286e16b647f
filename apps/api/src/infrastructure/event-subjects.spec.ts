import { subjectsOf } from './event-subjects';

describe('the NATS subjects of an integration event (ROLLCALL_NATS_EVENT_SUBJECTS)', () => {
  const event = { type: 'UserInvited', organizationId: '0b6f2c1e-8d4a-5f3b-9c2d-1e0f4a5b6c7d' };
  // an organization's own subject names it: what the event follows there is counted per organization
  const own = { subject: 'rollcall.org.0b6f2c1e-8d4a-5f3b-9c2d-1e0f4a5b6c7d.events.UserInvited', organizationId: event.organizationId };

  it('operator (the default): rollcall.events.<Type> alone, as before', () => {
    expect(subjectsOf(event, 'operator')).toEqual([{ subject: 'rollcall.events.UserInvited' }]);
  });

  it("organization: rollcall.org.<organizationId>.events.<Type> alone, which NATS permissions can scope to one customer", () => {
    expect(subjectsOf(event, 'organization')).toEqual([own]);
  });

  it('both: the operator\'s subject, then the organization\'s', () => {
    expect(subjectsOf(event, 'both')).toEqual([{ subject: 'rollcall.events.UserInvited' }, own]);
  });

  it("an event that names no organization, or one whose id is no subject token, goes on the operator's subject: never dropped", () => {
    expect(subjectsOf({ type: 'PresenceChanged' }, 'organization')).toEqual([{ subject: 'rollcall.events.PresenceChanged' }]);
    for (const organizationId of ['acme.eu', 'a b', 'org-*', '>', ''])
      expect(subjectsOf({ type: 'UserInvited', organizationId }, 'both')).toEqual([{ subject: 'rollcall.events.UserInvited' }]);
  });
});
