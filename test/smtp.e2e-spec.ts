import { inviteUrlIn, smtpSink } from './support/smtp';
import { type TestApp, startTestApp, tokenOf } from './support/app';

/** A real SMTP server on loopback receives the invitation email sent through nodemailer (SMTP_URL). */
describe('invitation email over SMTP', () => {
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let app: TestApp;

  beforeAll(async () => {
    sink = await smtpSink();
    app = await startTestApp({ SMTP_URL: `smtp://127.0.0.1:${sink.port}` });
  });
  afterAll(async () => {
    await app.stop();
    await sink.close();
  });

  it('sends the link to the invited address; the link in the mail accepts the invitation', async () => {
    const received = sink.received;
    const o = await app.api.organization();
    const inv = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'Mail.Me@acme.test' } });
    expect(inv.status).toBe(201);
    const deadline = Date.now() + 5000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received[0]!.to).toEqual(['mail.me@acme.test']);
    const body = received[0]!.body.replace(/=\r?\n/g, '');
    expect(body).toContain('Support');
    // a program's mail: autoresponders do not answer it (RFC 3834; probe 46 F8)
    expect(body).toMatch(/^Auto-Submitted: auto-generated\r?$/m);
    const url = inviteUrlIn(received[0]!.body);
    expect(url).toBe(inv.body.inviteUrl);
    expect((await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(url) } })).status).toBe(200);
  });
});
