// The mail outbox of a test app (without SMTP_URL, `outbox.jsonl` in the data dir): one JSON line per mail.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestApp } from './app';

export interface OutboxMail {
  kind?: string;
  to: string;
  inviteUrl?: string;
  confirmUrl?: string;
}

export const outbox = (app: Pick<TestApp, 'dataDir'>): OutboxMail[] => {
  try {
    return readFileSync(join(app.dataDir, 'outbox.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as OutboxMail);
  } catch {
    return [];
  }
};

/** The latest mail of `kind` (invitation, email-confirmation) to `to`; mail is sent after the answer: waits for it. */
export const mailTo = async (app: Pick<TestApp, 'dataDir'>, to: string, kind: string): Promise<OutboxMail> => {
  for (let i = 0; i < 100; i++) {
    const mail = outbox(app).filter((m) => m.to === to && (m.kind ?? 'invitation') === kind).pop();
    if (mail) return mail;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no ${kind} mail to ${to}`);
};
