import { type InvitationMail, type InvitationMailer, sendInBackground } from './mailer';

const mail: InvitationMail = { to: 'ada@acme.test', workspaceName: 'Support', inviteUrl: 'https://console.test/invite?token=t', expiresAt: '2026-12-04T00:00:00.000Z' };

function recording() {
  const sent: InvitationMail[] = [];
  const mailer = { send: async (m: InvitationMail) => void sent.push(m), sendEmailConfirmation: async () => undefined } as InvitationMailer;
  const lines: { level: string; fields: object; message: string }[] = [];
  const logger = {
    log: (fields: object, message: string) => lines.push({ level: 'log', fields, message }),
    error: (fields: object, message: string) => lines.push({ level: 'error', fields, message }),
  } as unknown as Parameters<typeof sendInBackground>[3];
  return { sent, mailer, lines, logger };
}
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('rule 12: invitation emails sent in the background', () => {
  it('sends when the address was not erased since, and not when it was', async () => {
    const kept = recording();
    sendInBackground(kept.mailer, mail, async () => false, kept.logger);
    const erased = recording();
    sendInBackground(erased.mailer, mail, async () => true, erased.logger);
    await settled();
    expect(kept.sent).toEqual([mail]);
    expect(erased.sent).toEqual([]);
    expect(erased.lines).toEqual([{ level: 'log', fields: { workspace: 'Support' }, message: 'invitation email not sent: its address was erased after the invitation' }]);
  });

  it('does not send when the erasure check fails, and says so without the address or the link', async () => {
    const r = recording();
    sendInBackground(r.mailer, mail, async () => Promise.reject(new Error('SqliteEventStore is closed')), r.logger);
    await settled();
    expect(r.sent).toEqual([]);
    expect(r.lines).toEqual([
      { level: 'error', fields: { workspace: 'Support', reason: 'SqliteEventStore is closed' }, message: 'invitation email not sent: could not check whether its address was erased' },
    ]);
    expect(JSON.stringify(r.lines)).not.toMatch(/ada@|token/);
  });
});
