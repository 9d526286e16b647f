import { SMTPServer } from 'smtp-server';
import { type TestApp, startTestApp, tokenOf } from './support/app';

/** A real SMTP server on loopback receives the invitation email sent through nodemailer (SMTP_URL). */
describe('invitation email over SMTP', () => {
  const received: { to: string[]; body: string }[] = [];
  let smtp: SMTPServer;
  let app: TestApp;

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        let body = '';
        stream.on('data', (c: Buffer) => (body += c.toString()));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), body });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const { port } = smtp.server.address() as { port: number };
    app = await startTestApp({ SMTP_URL: `smtp://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await app.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it('sends the link to the invited address; the link in the mail accepts the invitation', async () => {
    const o = await app.api.organization();
    const inv = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'Mail.Me@acme.test' } });
    expect(inv.status).toBe(201);
    const deadline = Date.now() + 5000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received[0]!.to).toEqual(['mail.me@acme.test']);
    const body = received[0]!.body.replace(/=\r?\n/g, '');
    expect(body).toContain('Support');
    const url = /https:\/\/console\.acme\.test\/invite\?token=[\w.=-]+/.exec(body.replace(/=3D/g, '='))![0];
    expect(url).toBe(inv.body.inviteUrl);
    expect((await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(url) } })).status).toBe(200);
  });
});
