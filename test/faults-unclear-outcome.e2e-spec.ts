// A write whose outcome the event store could not tell (a commit that went through but whose answer was lost: a
// timeout, a reset, a commit thread that died after committing) is re-sent; the store finds the batch written and
// says so. That is still the request's own write: it answers as one (no `Idempotency-Replayed`) and does what the
// write does after it — the invitation's mail, the email change's confirmation, a deletion's erasure (session 27's
// review: answered from the log as a replay, the mail never went out). The real app over HTTP; the embedded store's
// adapter answers the chosen append with AppendOutcomeUnknownError after committing it.
import { AppendOutcomeUnknownError, type EventStore, type RecordedEvent, type StreamAppend } from '@rollcall/event-store';
import { EVENT_STORE } from '../apps/api/src/shared/tokens';
import { type TestApp, startTestApp, tokenOf } from './support/app';
import { sqliteStoreOf } from './support/faults';
import { mailTo, outbox } from './support/outbox';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

/** The next append holding an event of `type` is committed, then answered as of unknown outcome (once). */
function loseTheAnswerOfNext(type: string): { lost: () => boolean } {
  const sqlite = sqliteStoreOf(app.app.get(EVENT_STORE));
  let lost = false;
  const losing =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>, partsOf: (...args: A) => StreamAppend[]) =>
    async (...args: A): Promise<R> => {
      const result = await write(...args);
      const parts = partsOf(...args);
      if (!lost && parts.some((p) => p.events.some((e) => e.type === type))) {
        lost = true;
        throw new AppendOutcomeUnknownError(parts[0]!.stream);
      }
      return result;
    };
  sqlite.append = losing(sqlite.append.bind(sqlite), (stream, events, expected) => [{ stream, events, expected }]);
  sqlite.appendMany = losing(sqlite.appendMany.bind(sqlite), (parts) => parts);
  // with personal data, the embedded store's appends go through appendWithKeys (the keys in the same transaction)
  sqlite.appendWithKeys = losing(sqlite.appendWithKeys.bind(sqlite), (parts) => parts);
  return { lost: () => lost };
}

const eventsOf = async (type: string): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of (app.app.get(EVENT_STORE) as EventStore).readAll()) if (e.type === type) out.push(e);
  return out;
};

describe('a write whose answer the event store lost, found written by its re-send, is the request\'s own write', () => {
  it('rule 7: the invitation answers 201 (not a replay), is written once, and its mail goes out with a link that works', async () => {
    const o = await app.api.organization();
    const fault = loseTheAnswerOfNext('UserInvited');
    const before = (await eventsOf('UserInvited')).length;
    const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'lost-answer@acme.test' } });
    expect(fault.lost()).toBe(true);
    expect(invited.status).toBe(201);
    expect(invited.headers.get('idempotency-replayed')).toBeNull();
    expect((await eventsOf('UserInvited')).length).toBe(before + 1);
    const mail = await mailTo(app, 'lost-answer@acme.test', 'invitation');
    expect(tokenOf(mail.inviteUrl!)).toBe(tokenOf(invited.body.inviteUrl));
    const accepted = await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(mail.inviteUrl!), displayName: 'Lost Answer' } });
    expect(accepted.status).toBe(200);
  });

  it('email change: the change answers as asked, and its confirmation mail goes out', async () => {
    const o = await app.api.organization();
    const jane = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'jane-lost@acme.test');
    const fault = loseTheAnswerOfNext('EmailChangeRequested');
    const asked = await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: jane, body: { email: 'jane-lost@new.test' } });
    expect(fault.lost()).toBe(true);
    expect(asked.status).toBe(200);
    expect(asked.headers.get('idempotency-replayed')).toBeNull();
    const mail = await mailTo(app, 'jane-lost@new.test', 'email-confirmation');
    const confirmed = await app.api.request('POST', '/v1/users/email-confirmations', { body: { token: new URL(mail.confirmUrl!).searchParams.get('token')! } });
    expect(confirmed.status).toBe(200);
  });

  it('rule 12: the deletion answers 200 and the user\'s personal data is erased', async () => {
    const o = await app.api.organization();
    const gone = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'gone-lost@acme.test');
    const fault = loseTheAnswerOfNext('UserDeleted');
    const deleted = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${gone}`, { key: o.key, actor: o.admin });
    expect(fault.lost()).toBe(true);
    expect(deleted.status).toBe(200);
    expect(deleted.headers.get('idempotency-replayed')).toBeNull();
    expect((await eventsOf('UserDeleted')).filter((e) => (e.data as { userId: string }).userId === gone)).toHaveLength(1);
    // its keys went with the deletion's own first send: what they sealed reads as erased
    const joined = (await eventsOf('UserJoinedOrganization')).find((e) => (e.data as { userId: string }).userId === gone)!;
    expect(joined.data).toMatchObject({ email: null, displayName: null });
    // the address is free again: invited anew, it is mailed (a new key for it: the one the deletion forgot is not used)
    const mailed = outbox(app).filter((m) => m.to === 'gone-lost@acme.test').length;
    const again = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'gone-lost@acme.test' } });
    expect(again.status).toBe(201);
    expect(outbox(app).filter((m) => m.to === 'gone-lost@acme.test').map((m) => m.inviteUrl).slice(mailed)).toEqual([again.body.inviteUrl]);
  });
});
