// SmtpMailer against a real SMTP server (smtp-server on loopback): credentials in SMTP_URL are never sent over a
// session STARTTLS has not encrypted (probe 46 F6: a relay that offered no STARTTLS received the password in clear).
import { SMTPServer } from 'smtp-server';
import { SmtpMailer } from './mailer';

async function relay(options: { requireAuth: boolean; smtpUtf8?: boolean }) {
  const auths: string[] = [];
  const mails: string[] = [];
  const server = new SMTPServer({
    authOptional: !options.requireAuth,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    hideSMTPUTF8: options.smtpUtf8 === false,
    onAuth(auth, _session, callback) {
      auths.push(`${auth.username}:${auth.password}`);
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        mails.push(session.envelope.rcptTo.map((r) => r.address).join(','));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as { port: number };
  return { port, auths, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const mail = { to: 'jane@acme.test', organizationName: 'Acme', workspaceName: 'Support', inviterName: null, access: 'as agent', inviteUrl: 'https://console.acme.test/invite?token=t', expiresAt: '2026-03-03T09:00:00.000Z' };

describe('SMTP credentials and TLS (probe 46 F6)', () => {
  it('a relay without STARTTLS never receives the password; the send fails instead', async () => {
    const r = await relay({ requireAuth: true });
    try {
      await expect(new SmtpMailer(`smtp://rollcall:s3cr3tPa55@127.0.0.1:${r.port}`, 'no-reply@rollcall.local').send(mail)).rejects.toThrow();
      expect(r.auths).toEqual([]);
      expect(r.mails).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it('a relay on loopback without TLS, chosen in the URL (?requireTLS=false), gets the credentials and the mail', async () => {
    const r = await relay({ requireAuth: true });
    try {
      await new SmtpMailer(`smtp://rollcall:s3cr3tPa55@127.0.0.1:${r.port}?requireTLS=false`, 'no-reply@rollcall.local').send(mail);
      expect(r.auths).toEqual(['rollcall:s3cr3tPa55']);
      expect(r.mails).toEqual(['jane@acme.test']);
    } finally {
      await r.close();
    }
  });
});

describe('an internationalized address and the relay (probe 46 F2)', () => {
  const idn = { ...mail, to: 'jöhn@bücher.example' };

  it('a relay that does not offer SMTPUTF8 is not given an address whose local part is not ASCII: refused for good (553), nothing sent', async () => {
    const r = await relay({ requireAuth: false, smtpUtf8: false });
    try {
      const mailer = new SmtpMailer(`smtp://127.0.0.1:${r.port}`, 'no-reply@rollcall.local');
      await expect(mailer.send(idn)).rejects.toMatchObject({ responseCode: 553 });
      // an ASCII local part at an IDN domain goes (nodemailer writes its domain as an A-label; smtp-server reads it back)
      await mailer.send({ ...mail, to: 'plain@bücher.example' });
      expect(r.mails).toHaveLength(1);
      expect(r.mails[0]).toMatch(/^plain@(bücher|xn--bcher-kva)\.example$/);
    } finally {
      await r.close();
    }
  });

  it('a relay that offers SMTPUTF8 gets it', async () => {
    const r = await relay({ requireAuth: false });
    try {
      await new SmtpMailer(`smtp://127.0.0.1:${r.port}`, 'no-reply@rollcall.local').send(idn);
      expect(r.mails).toEqual(['jöhn@bücher.example']);
    } finally {
      await r.close();
    }
  });
});

