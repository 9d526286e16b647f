// Pipelining on the real embedded store (docs/adr/0010-command-throughput.md, third pass): a command decided on the
// events of the lock's previous command while they are still being committed, appended right after them. Failures
// that other locks' commands depend on: stream-handler.pipelining-failures.int-spec.ts.
import { type OrganizationState, decideOrganization } from '@rollcall/domain';
import { SqliteEventStore } from '@rollcall/event-store';
import { newCommandContext } from './command-context';
import { DomainException } from './stream-handler';
import { organization } from './targets';
import {
  ORG,
  createWorkspace,
  deferred,
  pipeliningFixture,
  otherReplicaCreates,
  until,
} from '../testing/pipelining-harness';

const fx = pipeliningFixture();

describe('StreamHandler pipelining: the next command of a lock decides on the events in flight', () => {
  it('two commands on one stream decided while the first is in flight both land, in one commit; the second saw the first', async () => {
    const handler = await fx.handler();
    const before = fx.store.commitSequence;
    const seenB: string[][] = [];
    const [a, b] = await Promise.all([createWorkspace(handler, 'ws-a'), createWorkspace(handler, 'ws-b', seenB)]);
    expect(fx.store.commitSequence).toBe(before + 1);
    expect(seenB).toEqual([['ws-a']]);
    expect(BigInt(b.position)).toBeGreaterThan(BigInt(a.position));
    expect(await fx.types()).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization', 'ws:ws-a', 'ws:ws-b']);
  });

  it("another replica's event takes the first's place: the first conflicts, the second (whose revision alone would match) fails with it, both are decided again", async () => {
    const handler = await fx.handler();
    const head = (await handler.states.organization(ORG)).state;
    // written in the same group, just before the first command's append: the first expected revision 2, the head is 3
    const other = otherReplicaCreates(head, 'ws-x');
    fx.store.before.push(() => void SqliteEventStore.prototype.append.call(fx.store, `organization-${ORG}`, other, 2n));
    const seenA: string[][] = [];
    const seenB: string[][] = [];
    await Promise.all([createWorkspace(handler, 'ws-a', seenA), createWorkspace(handler, 'ws-b', seenB)]);
    // decided again in either order (both were concurrent), each time on what is committed
    expect(seenA).toHaveLength(2);
    expect(seenA[0]).toEqual([]);
    expect(seenA[1]).toContain('ws-x');
    expect(seenB[0]).toEqual(['ws-a']);
    expect(seenB).toHaveLength(2);
    expect(seenB[1]).toContain('ws-x');
    const log = await fx.types();
    expect(log.slice(0, 4)).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization', 'ws:ws-x']);
    expect(log.slice(4).sort()).toEqual(['ws:ws-a', 'ws:ws-b']);
  });

  it('when the first append fails (a fx.store error), the second, decided on its events, is not written on top of nothing: it is decided again', async () => {
    const handler = await fx.handler();
    const release = deferred();
    fx.store.before.push(async () => {
      await release.promise;
      throw new Error('disk I/O error');
    });
    const seenB: string[][] = [];
    const a = createWorkspace(handler, 'ws-a');
    const b = createWorkspace(handler, 'ws-b', seenB);
    const aFailed = expect(a).rejects.toThrow('disk I/O error');
    await until(() => seenB.length === 1);
    release.resolve();
    await aFailed;
    await b;
    expect(seenB).toEqual([['ws-a'], []]);
    expect(await fx.types()).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization', 'ws:ws-b']);
  });

  it('a refusal decided on events in flight waits for their commit, and is decided again when they fail', async () => {
    const handler = await fx.handler();
    // committed: the refusal stands, answered after the events it saw
    const order: string[] = [];
    await Promise.all([
      createWorkspace(handler, 'ws-a').then(() => order.push('a committed')),
      createWorkspace(handler, 'ws-a', [], 'again').catch((e: unknown) => order.push((e as DomainException).error.code)),
    ]);
    expect(order).toEqual(['a committed', 'WORKSPACE_EXISTS']);

    // failed: what the refusal saw never happened, the command is decided again and succeeds
    const release = deferred();
    fx.store.before.push(async () => {
      await release.promise;
      throw new Error('disk I/O error');
    });
    const seen: string[][] = [];
    const first = createWorkspace(handler, 'ws-c');
    const second = createWorkspace(handler, 'ws-c', seen, 'second');
    const firstFailed = expect(first).rejects.toThrow('disk I/O error');
    await until(() => seen.length === 1);
    release.resolve();
    await firstFailed;
    expect((await second).events.map((e) => e.type)).toEqual(['WorkspaceCreated']);
    expect(seen).toEqual([['ws-a', 'ws-c'], ['ws-a']]);
  });

  it('a reader outside the lock never sees events in flight: it waits until they are committed', async () => {
    const handler = await fx.handler();
    const release = deferred();
    fx.store.before.push(() => release.promise);
    const bDecided = deferred();
    const a = createWorkspace(handler, 'ws-a');
    const b = handler.handle(organization(ORG), newCommandContext({ actorId: 'admin' }), (org) => {
      bDecided.resolve();
      return decideOrganization({ type: 'CreateWorkspace', organizationId: ORG, actorId: 'admin', now: new Date().toISOString(), workspaceId: 'ws-b', name: 'b' }, org);
    });
    await bDecided.promise;
    // the cached state holds ws-a (folded for the second command), which is not committed yet
    const withLog = async (state: OrganizationState) => ({ state: [...state.workspaces.keys()], log: await fx.types() });
    const cached = handler.states.organizationCached(ORG).then(withLog);
    const loaded = handler.states.organization(ORG).then((org) => withLog(org.state));
    release.resolve();
    for (const { state, log } of [await cached, await loaded]) for (const ws of state) expect(log).toContain(`ws:${ws}`);
    await Promise.all([a, b]);
  });

});
