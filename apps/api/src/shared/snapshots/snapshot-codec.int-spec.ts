// How a snapshot's rows are cut into chunks (snapshot-codec.ts, sealCopy) over a real key store: each chunk's text
// stays small enough to be decoded as a regular V8 string, whatever the store would take (session 43: a cold load of
// a 100,000-member workspace spent ~180 ms decoding chunks of 1,000 rows, 134–192 KB each).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OrganizationState, type UserProfile, initialOrganizationState } from '@rollcall/domain';
import { type EventStore, type SnapshotSealing, createRollcallEventStore } from '@rollcall/event-store';
import { type ClearHead, copyOrganization, openSnapshot, sealCopy } from './snapshot-codec';

let dir: string;
let store: EventStore;
let sealing: SnapshotSealing;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-snapshot-codec-'));
  ({ store, sealing } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' }));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ORG = 'org-1';
const STREAM = `organization-${ORG}`;
const VERSION = 'test-version';

/** an organization of `count` users whose display names are `name(n)` */
function organizationOf(count: number, name: (n: number) => string): OrganizationState {
  const state: OrganizationState = { ...initialOrganizationState(), exists: true, organizationId: ORG, name: 'Acme' };
  for (let n = 0; n < count; n++) {
    const email = `user-${n}@example.test`;
    const user: UserProfile = {
      userId: `user-${String(n).padStart(6, '0')}-0000-4000-8000-000000000000`,
      email,
      displayName: name(n),
      alias: null,
      avatarUrl: null,
      orgAdmin: false,
      deleted: false,
      joinedAt: '2026-11-01T10:00:00.000Z',
      knownEmails: [email],
      pendingEmail: null,
      emailChangeVersion: 0,
    };
    state.users.set(user.userId, user);
    state.byEmail.set(email, user.userId); // as the folds index it (an address in ASCII is its own key)
  }
  return state;
}

/** seals the state's copy into chunks under limits a store would allow (1,000 rows, 1 MiB), then reads them back */
async function sealAndOpen(state: OrganizationState) {
  const cipher = (await sealing.cipher(`snapshot:${ORG}:0`, { create: true }))!;
  const head: ClearHead = { subjectId: cipher.subjectId, organizationId: ORG, epoch: 0, id: 'snapshot-1' };
  const at = { stream: STREAM, version: VERSION, revision: 41n, id: head.id, erasuresHeard: 0n };
  const chunks = await sealCopy(copyOrganization(state, new Map()), at, cipher, sealing, { chunkEntries: 1_000, chunkBytes: 1 << 20 });
  const texts = chunks.map((chunk, seq) => cipher.open(chunk, `${STREAM}\n${VERSION}\n41\n${head.id}\n${seq}`)!);
  const stored = { stream: STREAM, revision: 41n, version: VERSION, head: JSON.stringify(head), chunkCount: chunks.length, chunks: async function* () { yield* chunks; } };
  const { restored } = await openSnapshot('organization', stored, head, cipher, sealing);
  return { rows: texts.slice(1), restored };
}

describe('a snapshot\'s chunks (sealCopy)', () => {
  it('hold at most 120 KiB of text each, though the store would take 1,000 rows of 1 MiB, and read back whole', async () => {
    // ~280 bytes per user: 1,000 of them would be one chunk of ~280 KB
    const state = organizationOf(3_000, (n) => `User ${n} ${'x'.repeat(120)}`);
    const { rows, restored } = await sealAndOpen(state);
    expect(Math.max(...rows.map((text) => text.length))).toBeLessThanOrEqual(120 * 1024);
    expect(rows.length).toBeGreaterThanOrEqual(Math.ceil((3_000 * 280) / (120 * 1024)));
    expect(restored.state).toEqual(state);
    expect(restored.revision).toBe(41n);
  });

  it('hold at most 60 KiB of characters each when one name is past Latin-1 (V8 keeps such a text in two bytes a character)', async () => {
    const state = organizationOf(3_000, (n) => (n === 1_500 ? `Ōtsuka ${'x'.repeat(120)}` : `User ${n} ${'x'.repeat(120)}`));
    const { rows, restored } = await sealAndOpen(state);
    const withTheName = rows.find((text) => text.includes('Ōtsuka'))!;
    expect(withTheName.length).toBeLessThanOrEqual(60 * 1024);
    // the chunks before it hold as many rows as fit in one byte a character: only a Latin-1 text is cut at 120 KiB
    expect(Math.max(...rows.map((text) => text.length))).toBeGreaterThan(60 * 1024);
    expect(restored.state).toEqual(state);
  });
});
