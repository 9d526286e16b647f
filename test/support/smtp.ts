import { SMTPServer } from 'smtp-server';

/** A mail taken by the SMTP sink: its recipients and its raw body. */
export interface ReceivedMail {
  to: string[];
  body: string;
}

/**
 * A real SMTP server on loopback (smtp-server) that records what it takes. `refuse(address)`, asked at each recipient,
 * makes it answer a temporary failure (`true`: 451) or the code it gives (550: a refusal for good), quoting the address
 * as Postfix does.
 */
export async function smtpSink(refuse: (address: string) => boolean | number = () => false): Promise<{ received: ReceivedMail[]; port: number; refused: () => number; close: () => Promise<void> }> {
  const received: ReceivedMail[] = [];
  let refusals = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(address, _session, callback) {
      const refused = refuse(address.address);
      if (refused === false) return callback();
      refusals++;
      const code = refused === true ? 451 : refused;
      callback(Object.assign(new Error(`<${address.address}>: Recipient address rejected: ${code >= 500 ? 'User unknown' : 'try again later'}`), { responseCode: code }));
    },
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
  return { received, port, refused: () => refusals, close: () => new Promise<void>((resolve) => smtp.close(() => resolve())) };
}

/** the invitation link in a mail's body (quoted-printable soft breaks and `=3D` undone) */
export const inviteUrlIn = (body: string): string => /https:\/\/console\.acme\.test\/invite\?token=[\w.=-]+/.exec(body.replace(/=\r?\n/g, '').replace(/=3D/g, '='))![0];
