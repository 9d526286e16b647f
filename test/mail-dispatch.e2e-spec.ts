import { inviteUrlIn, smtpSink } from './support/smtp';
import { type TestApp, startTestApp, tokenOf } from './support/app';

const METRICS_TOKEN = 'mail-dispatch-metrics-token-0123';

/**
 * docs/adr/0018, "Session 29": an SMTP server that refuses a mail for a while (a temporary failure, 451) no longer
 * loses it. The invitation is answered (the failure is logged), the log holds no record of its hand-off, and the mail
 * dispatcher sends it again once it is ROLLCALL_MAIL_RETRY_AFTER_SECONDS old: the invitee gets the link that was
 * answered, once.
 */
describe('a mail the SMTP server refused is sent again by the mail dispatcher', () => {
  let refusing = true;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let app: TestApp;

  beforeAll(async () => {
    sink = await smtpSink((address) => (address.startsWith('unknown') ? 550 : refusing));
    app = await startTestApp({
      SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
      ROLLCALL_MAIL_RETRY_AFTER_SECONDS: '1',
      ROLLCALL_MAIL_DISPATCH_EVERY_MS: '100',
      ROLLCALL_METRICS_TOKEN: METRICS_TOKEN,
    });
  });
  afterAll(async () => {
    await app.stop();
    await sink.close();
  });

  it('rule 7: the invitation answered while SMTP refused is mailed when it takes mail again, with the link answered', async () => {
    const received = sink.received;
    const o = await app.api.organization();
    const invite = () => app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'later@acme.test' }, headers: { 'idempotency-key': 'later-1' } });
    const inv = await invite();
    expect(inv.status).toBe(201);
    // the answer says the mail has not gone out yet (probe 80 F4)
    expect(inv.body.mail).toBe('pending');
    expect(sink.refused()).toBe(1);
    expect(received).toEqual([]);
    // the console sees that its mail has not gone out (probe 46 F4)
    const pendingOf = async () =>
      ((await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=pending`, { key: o.key, actor: o.admin, headers: { 'x-min-position': inv.body.position } })).body.items as { invitationId: string; mailedAt: string | null }[]).find(
        (i) => i.invitationId === inv.body.invitationId,
      );
    expect((await pendingOf())?.mailedAt).toBeNull();
    refusing = false;

    const deadline = Date.now() + 10_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(received.map((r) => r.to)).toEqual([['later@acme.test']]);
    const url = inviteUrlIn(received[0]!.body);
    expect(url).toBe(inv.body.inviteUrl);
    // and then when it went
    let mailedAt: string | null | undefined = null;
    while (!mailedAt && Date.now() < deadline + 5_000) {
      mailedAt = (await pendingOf())?.mailedAt;
      if (!mailedAt) await new Promise((r) => setTimeout(r, 50));
    }
    expect(Date.parse(mailedAt!)).toBeGreaterThan(Date.parse(inv.body.expiresAt) - 49 * 3600_000);

    // its retry, answered from the answer kept under its key, says what became of the mail since (probe 109 F2: it
    // repeated `pending`), and mails nothing
    const retry = await invite();
    expect([retry.headers.get('idempotency-replayed'), retry.body.mail, retry.body.inviteUrl]).toEqual(['true', 'handed_over', inv.body.inviteUrl]);
    // recorded: not sent a third time
    await new Promise((r) => setTimeout(r, 1500));
    expect(received).toHaveLength(1);
    const metrics = await app.api.request('GET', '/metrics', { key: METRICS_TOKEN });
    expect(metrics.body).toMatch(/rollcall_mails_dispatched_total\{kind="invitation",outcome="sent"\} 1/);
    expect(metrics.body).toMatch(/rollcall_mails_waiting\{kind="invitation"\} 0/);
    // the command's own hand-off, refused for a while, counted too (probe 46 F4)
    expect(metrics.body).toMatch(/rollcall_mails_handed_over_total\{kind="invitation",outcome="failed"\} 1/);
    expect((await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(url) } })).status).toBe(200);
  });

  it('probe 46 F3, F4: an address the relay refuses for good is tried no more, and the user list says so', async () => {
    const o = await app.api.organization();
    const before = sink.refused();
    const inv = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'unknown.user@acme.test' } });
    expect(inv.status).toBe(201);
    // refused for good, said in the answer (probe 80 F4: 201 and nothing more, the admin saw success)
    expect(inv.body.mail).toBe('refused');
    expect(sink.refused()).toBe(before + 1);
    const pending = async () =>
      ((await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=pending`, { key: o.key, actor: o.admin, headers: { 'x-min-position': inv.body.position } })).body.items as { invitationId: string; mailedAt: string | null; mailRefusedAt: string | null }[]).find(
        (i) => i.invitationId === inv.body.invitationId,
      );
    const deadline = Date.now() + 5_000;
    let seen = await pending();
    while (!seen?.mailRefusedAt && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await pending();
    }
    expect(seen).toMatchObject({ mailedAt: null, mailRefusedAt: expect.any(String) });
    // past the dispatcher's retry time (1 s here) and several of its passes: not tried again
    await new Promise((r) => setTimeout(r, 2_000));
    expect(sink.refused()).toBe(before + 1);
    // and counted where an operator looks (the dispatcher never saw it: the command recorded the refusal)
    const metrics = await app.api.request('GET', '/metrics', { key: METRICS_TOKEN });
    expect(metrics.body).toMatch(/rollcall_mails_handed_over_total\{kind="invitation",outcome="refused"\} 1/);
  });

  it('probe 100 F2: an email change whose link the relay refuses for good uses up none of the hour\'s email changes', async () => {
    const o = await app.api.organization();
    const ask = (email: string) => app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${o.admin}`, { key: o.key, actor: o.admin, body: { email } });
    // six addresses the relay refuses for good (550), one past the limit of 5: no mail went out for any, none counts
    // (the answer says the relay refused it: probe 101 F4)
    for (let n = 1; n <= 6; n++) expect((await ask(`unknown${n}.limit@acme.test`)).body.emailChange).toMatchObject({ status: 'pending_confirmation', mail: 'refused' });
    // five the relay takes, then the sixth is refused for the limit
    for (let n = 1; n <= 5; n++) expect((await ask(`taken${n}.limit@acme.test`)).body.emailChange).toMatchObject({ mail: 'handed_over' });
    expect((await ask('taken6.limit@acme.test')).body).toMatchObject({ code: 'TOO_MANY_EMAIL_CHANGES' });
    expect(sink.received.filter((m) => m.to.some((to) => to.startsWith('taken'))).length).toBe(5);
  });

  it("probe 109 F2: an email change answered while SMTP refused, retried with its key once the dispatcher mailed it: the kept answer says handed_over, nothing mailed again", async () => {
    const o = await app.api.organization();
    const ask = () =>
      app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${o.admin}`, { key: o.key, actor: o.admin, body: { email: 'later-change@acme.test' }, headers: { 'idempotency-key': 'change-1' } });
    refusing = true;
    try {
      expect((await ask()).body.emailChange).toMatchObject({ status: 'pending_confirmation', mail: 'pending' });
    } finally {
      refusing = false;
    }
    const mailed = () => sink.received.filter((m) => m.to.includes('later-change@acme.test')).length;
    const deadline = Date.now() + 10_000;
    while (mailed() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(mailed()).toBe(1);
    // the dispatcher's record follows its send: the retry asks the ledger until it is there
    let retry = await ask();
    while (retry.body.emailChange?.mail === 'pending' && Date.now() < deadline + 5_000) {
      await new Promise((r) => setTimeout(r, 100));
      retry = await ask();
    }
    expect([retry.headers.get('idempotency-replayed'), retry.body.emailChange]).toEqual(['true', { status: 'pending_confirmation', email: 'later-change@acme.test', expiresAt: expect.any(String), mail: 'handed_over' }]);
    expect(mailed()).toBe(1);
  });

  it("probe 111 F3: a keyed retry whose kept answer said pending, of a link replaced since (a resend), says no mail, as its replay from the log would: the link will never be mailed", async () => {
    const o = await app.api.organization();
    const invite = () =>
      app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'stale@acme.test' }, headers: { 'idempotency-key': 'stale-1' } });
    refusing = true;
    let first;
    try {
      first = await invite();
      expect(first.body.mail).toBe('pending');
      expect((await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations/${first.body.invitationId}/resend`, { key: o.key, actor: o.admin })).status).toBe(200);
    } finally {
      refusing = false;
    }
    // the resent link goes out; the first never will
    const mailed = () => sink.received.filter((m) => m.to.includes('stale@acme.test'));
    const deadline = Date.now() + 10_000;
    while (mailed().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(mailed().map((m) => inviteUrlIn(m.body))).not.toContain(first.body.inviteUrl);
    const retry = await invite();
    expect([retry.headers.get('idempotency-replayed'), retry.body.inviteUrl, 'mail' in retry.body]).toEqual(['true', first.body.inviteUrl, false]);
  });
});
