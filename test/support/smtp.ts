import { SMTPServer } from 'smtp-server';

/** A mail taken by the SMTP sink: its recipients and its raw body. */
export interface ReceivedMail {
  to: string[];
  body: string;
}

/**
 * A real SMTP server on loopback (smtp-server) that records what it takes. `refuse()`, asked at each recipient, makes
 * it answer a temporary failure (451) instead.
 */
export async function smtpSink(refuse: () => boolean = () => false): Promise<{ received: ReceivedMail[]; port: number; refused: () => number; close: () => Promise<void> }> {
  const received: ReceivedMail[] = [];
  let refusals = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(_address, _session, callback) {
      if (!refuse()) return callback();
      refusals++;
      callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
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
