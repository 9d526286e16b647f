import { join } from 'node:path';
import { captureLogLines } from '../apps/api/src/shared/testing/log-capture';
import { inviteUrlIn, smtpSink } from './support/smtp';
import { type TestApp, startTestApp, tokenOf } from './support/app';

const outboxWarnings = (lines: Record<string, unknown>[]) => lines.filter((l) => l.level === 'warn' && String(l.msg).startsWith('SMTP_URL is not set'));

/** A real SMTP server on loopback receives the invitation email sent through nodemailer (SMTP_URL). */
describe('invitation email over SMTP', () => {
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let app: TestApp;
  const logs = captureLogLines();

  beforeAll(async () => {
    sink = await smtpSink();
    app = await startTestApp({ SMTP_URL: `smtp://127.0.0.1:${sink.port}`, LOG_LEVEL: 'warn' }, logs.stream);
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
    expect(outboxWarnings(logs.lines)).toEqual([]);
  });
});

// Probe 108 F6: a deployment that forgot SMTP_URL answered every invitation `mail: "handed_over"` while the mails went
// to the development outbox, received by nobody; the start now says so, and where they go
describe('a start without SMTP_URL', () => {
  it('warns that mails are written to the outbox in the data dir, not sent; with SMTP_URL it does not', async () => {
    const logs = captureLogLines();
    const app = await startTestApp({ LOG_LEVEL: 'warn' }, logs.stream);
    try {
      expect(outboxWarnings(logs.lines).map((l) => l.msg)).toEqual([
        expect.stringContaining(`mails are appended to ${join(app.dataDir, 'outbox.jsonl')} (a mailer for development), not sent: nobody receives them`),
      ]);
    } finally {
      await app.stop();
    }
  });
});
