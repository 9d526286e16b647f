// A snapshot writer that has not heard of a deletion yet (docs/adr/0003, "Erasure and sealing race", point 7). Process
// A holds a workspace of org-2 with an invitation to member-1@; process B deletes user-1 of org-1 (that address's key
// is forgotten) and org-3 invites the address again at once (its key subject gets another key). Before A's log
// subscription reaches the deletion, A writes org-2's snapshot: the address it holds from before the deletion must
// not be sealed under the new key, where it would read again at every cold load.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateSnapshots } from './snapshots';
import { organizationStream, workspaceStream } from '../command-path/stream-states';
import { ADDRESS, deleteAndInviteAgain, erasureHistory } from '../testing/erasure-scenario';
import { type Process, openProcess, replayAppends } from '../testing/snapshot-harness';

// the invitations of these specs are sealed as before session 24 (one address subject shared by every organization)
jest.mock('@rollcall/domain', () => jest.requireActual('../testing/invitations-before-session-24').domainBeforeSession24());

let dir: string;
const open: Process[] = [];
const processAt = async (options?: Parameters<typeof openProcess>[1]) => {
  const p = await openProcess(dir, options);
  open.push(p);
  return p;
};
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-snapshots-unheard-'));
});
afterEach(async () => {
  for (const p of open.splice(0)) await p.close();
  rmSync(dir, { recursive: true, force: true });
});


/** writes the workspace's snapshot from `p`'s cached states with a writer that has heard of deletions through `heard` */
async function writeSnapshot(p: Process, org: string, ws: string, heard: bigint) {
  const orgLoaded = await p.states.organization(org);
  const wsLoaded = (await p.states.workspace(orgLoaded.state, ws))!;
  const errors: unknown[] = [];
  const writer = new StateSnapshots(p.snapshotStore, p.sealing, { every: 1, erasuresHeardThrough: () => heard, onError: (_s, e) => errors.push(e) });
  writer.folded('organization', organizationStream(org), { state: orgLoaded.state, revision: orgLoaded.expected as bigint, applied: new Map() });
  await writer.restore('workspace', workspaceStream(ws));
  writer.folded('workspace', workspaceStream(ws), { state: wsLoaded.state, revision: wsLoaded.expected as bigint, applied: new Map() });
  await writer.settled();
  expect(errors).toEqual([]);
  return wsLoaded.state;
}

describe('rule 12: a snapshot writer that has not heard of a deletion yet (docs/adr/0003, "Erasure and sealing race", point 7)', () => {
  it('rule 12: does not seal an address it holds from before a deletion under the key the address got again after it: the cold load reads it as null, as a replay does', async () => {
    const log = erasureHistory();
    const a = await processAt({ every: Infinity });
    await replayAppends(a, log.takeAppends());
    const heardByA = await a.store.headPosition();
    const org2 = await a.states.organization('org-2');
    expect((await a.states.workspace(org2.state, 'ws-2'))!.state.invitations.get('inv-elsewhere')!.email).toBe(ADDRESS);

    const b = await processAt({ every: Infinity });
    await deleteAndInviteAgain(b, log);
    expect((await b.sealing.ciphers([b.sealing.subjectId({ kind: 'email', email: ADDRESS })])).size).toBe(1); // a key again, another one

    // A still holds the address (its subscription has not reached the deletion): its snapshot is not written
    const held = await writeSnapshot(a, 'org-2', 'ws-2', heardByA);
    expect(held.invitations.get('inv-elsewhere')!.email).toBe(ADDRESS);
    expect(await a.snapshotStore.read(workspaceStream('ws-2'))).toBeUndefined();

    const cold = await processAt({ every: Infinity });
    const coldOrg = await cold.states.organization('org-2');
    const coldWs = (await cold.states.workspace(coldOrg.state, 'ws-2'))!;
    expect(coldWs.state.invitations.get('inv-elsewhere')!.email).toBeNull();
    expect(coldWs.state.pendingByEmail.has(ADDRESS)).toBe(false);
  });

  it('rule 12: an address invited again after the deletion is sealed once the writer has heard of the deletion, and waits before', async () => {
    const log = erasureHistory();
    const b = await processAt({ every: Infinity });
    await replayAppends(b, log.takeAppends());
    const deletedAt = await deleteAndInviteAgain(b, log);

    // ws-3's invitation is after the deletion: the address is its own, under the new key
    const stream = workspaceStream('ws-3');
    const state = await writeSnapshot(b, 'org-3', 'ws-3', deletedAt - 1n);
    expect(state.invitations.get('inv-again')!.email).toBe(ADDRESS);
    expect(await b.snapshotStore.read(stream)).toBeUndefined();
    await writeSnapshot(b, 'org-3', 'ws-3', deletedAt);
    expect(await b.snapshotStore.read(stream)).toBeDefined();

    const cold = await processAt({ every: Infinity });
    const coldOrg = await cold.states.organization('org-3');
    const coldWs = (await cold.states.workspace(coldOrg.state, 'ws-3'))!;
    expect(cold.reads.find((r) => r.stream === stream)!.fromRevision).toBeGreaterThan(0n);
    expect(coldWs.state.invitations.get('inv-again')!.email).toBe(ADDRESS);
  });
});
