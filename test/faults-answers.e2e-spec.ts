// The store of kept answers (api.sqlite: the answers of keyed writes, for their retries) refusing writes — a full disk
// under it, here its connection set query_only, a real SQLite refusal — after a write's events are in the log: the write
// is answered as done, not 503 (probe 95 F1: 18 invitations in the log were answered 503 EVENT_STORE_UNAVAILABLE, and
// a client that did not retry took them for not sent). Its retry, the answer not kept, is answered from the log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { EventStore } from '@rollcall/event-store';
import { IDEMPOTENCY_STORE } from '../apps/api/src/shared/command-path/idempotency';
import { EVENT_STORE } from '../apps/api/src/shared/tokens';
import { type TestApp, startTestApp } from './support/app';

/** the connection of the kept answers' store, whose writes the test refuses (a test's reach into the store) */
const answersDb = (app: TestApp) => (app.app.get(IDEMPOTENCY_STORE) as unknown as { db: DatabaseSync }).db;

describe("a keyed write whose answer cannot be kept (the answers' store refusing writes)", () => {
  let app: TestApp;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-answers-'));
    app = await startTestApp({ ROLLCALL_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  });
  afterAll(async () => {
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is answered as done (201), once; its retry, after the store works again, replays it from the log', async () => {
    const o = await app.api.organization();
    const invite = (key: string) =>
      app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'kept@acme.test' }, headers: { 'idempotency-key': key } });
    answersDb(app).exec('PRAGMA query_only = ON');
    let first;
    try {
      first = await invite('unkept-1');
    } finally {
      answersDb(app).exec('PRAGMA query_only = OFF');
    }
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotency-replayed')).toBeNull();
    const again = await invite('unkept-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotency-replayed')).toBe('true');
    expect(again.body.invitationId).toBe(first.body.invitationId);
    // one invitation in the log, not two
    const invited: string[] = [];
    for await (const e of app.app.get<EventStore>(EVENT_STORE).readAll()) if (e.type === 'UserInvited') invited.push((e.data as { invitationId: string }).invitationId);
    expect(invited).toEqual([first.body.invitationId]);
  });
});
