// Shared by the pipelining specs (stream-handler.pipelining*.int-spec.ts): the embedded store with hooks, and the
// commands they race (docs/adr/0010-command-throughput.md, third pass).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_ACTOR, type DomainEvent, type OrganizationState, decideOrganization, toStored } from '@rollcall/domain';
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
  SqliteEventStore,
  newEventId,
} from '@rollcall/event-store';
import { newCommandContext } from '../command-path/command-context';
import { StreamHandler, type Target } from '../command-path/stream-handler';
import { type StreamKind, StreamStates } from '../command-path/stream-states';
import { organization } from '../command-path/targets';


/** The embedded store; `before` runs when append is called (the next hook for each call), before the append is queued. */
export class HookedStore extends SqliteEventStore {
  before: ((stream: string, events: NewEvent[], expected: ExpectedRevision) => Promise<void> | void)[] = [];
  appendsAt: ExpectedRevision[] = [];

  override async append(stream: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    this.appendsAt.push(expected);
    await this.before.shift()?.(stream, events, expected);
    return super.append(stream, events, expected);
  }
}

/**
 * A fresh HookedStore in a temp dir for each test of the calling spec file: `store` is this test's, `handler` and
 * `types` work on it unless given another store.
 */
export function pipeliningFixture() {
  let dir: string;
  let store: HookedStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-pipelining-'));
    store = new HookedStore(join(dir, 'events.sqlite'), { durability: 'normal' });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get store(): HookedStore {
      return store;
    },
    /** the data dir of this test's store (a second store on the same file plays another replica) */
    get dir(): string {
      return dir;
    },
    handler: (s: EventStore = store) => pipeliningHandler(s),
    types: (s: EventStore = store) => types(s),
  };
}

export const ORG = 'org-1';
/** the organization stream's events: `ws:<id>` for a created workspace, else the type */
export const types = async (s: EventStore) => {
  const out: RecordedEvent[] = [];
  for await (const e of s.readStream(`organization-${ORG}`)) out.push(e);
  return out.map((e) => (e.type === 'WorkspaceCreated' ? `ws:${(e.data as { workspaceId: string }).workspaceId}` : e.type));
};
/** waits (turns of the event loop, bounded) until `condition` holds */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setImmediate(r));
  if (!condition()) throw new Error('condition never held');
}
export const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

/** A handler whose first command (the organization's creation) has shown it that the store checks APPEND_AFTER. */
export async function pipeliningHandler(s: EventStore): Promise<StreamHandler> {
  const handler = new StreamHandler(s, new StreamStates(s));
  const ctx = newCommandContext({ actorId: SYSTEM_ACTOR, idempotencyKey: 'create-org' });
  await handler.handle(organization(ORG), ctx, (org) =>
    decideOrganization(
      {
        type: 'CreateOrganization',
        organizationId: ORG,
        actorId: SYSTEM_ACTOR,
        now: ctx.now,
        name: 'Acme',
        admin: { userId: 'admin', email: 'ada@acme.test', displayName: 'Ada' },
        apiKey: { keyId: 'k', secretHash: 'h' },
      },
      org,
    ),
  );
  return handler;
}

/** Creates a workspace; `seen` gets, at each decision, the workspaces the decision saw. */
export function createWorkspace(handler: StreamHandler, workspaceId: string, seen: string[][] = [], key = `create-${workspaceId}-${seen.length}`) {
  const ctx = newCommandContext({ actorId: 'admin', idempotencyKey: key });
  return handler.handle(organization(ORG), ctx, (org) => {
    seen.push([...org.workspaces.keys()]);
    return decideOrganization({ type: 'CreateWorkspace', organizationId: ORG, actorId: 'admin', now: ctx.now, workspaceId, name: workspaceId }, org);
  });
}

/** The events another replica's creation of `workspaceId` appends on `org` (at the stream's head). */
export function otherReplicaCreates(org: OrganizationState, workspaceId: string): NewEvent[] {
  const decision = decideOrganization({ type: 'CreateWorkspace', organizationId: ORG, actorId: 'admin', now: new Date().toISOString(), workspaceId, name: workspaceId }, org);
  if (!decision.ok) throw new Error(decision.error.message);
  return decision.events.map((e) => ({ id: newEventId(), ...toStored(e, { idempotencyKey: `other:${workspaceId}` }) }));
}

/** Two streams of one lock's commands (`s-1`, the lock, and `s-2`), folded as the list of tags of their events. */
export type Tagged = DomainEvent & { data: { stream: string; tag: string } };
/** folded in place, as the organizations' and workspaces' states are */
export const TAGS: StreamKind<string[]> = {
  initial: () => [],
  evolve: (tags, e) => {
    tags.push((e as Tagged).data.tag);
    return tags;
  },
};
export const tag = (stream: string, t: string) => ({ type: 'PresenceChanged', version: 1, data: { stream, tag: t } }) as unknown as Tagged;
export const both: Target<{ s1: string[]; s2: string[] }> = {
  lock: 's-1',
  load: async (states) => {
    const [s1, s2] = [await states.single('s-1', TAGS), await states.single('s-2', TAGS)];
    return { context: { s1: s1.state, s2: s2.state }, streams: [s1, s2] };
  },
};
/** a command on `both`, appending its tag to `to` (default both streams); `seen` gets what each decision saw */
export const onBoth = (handler: StreamHandler, t: string, seen: string[][][], to = ['s-1', 's-2']) =>
  handler.handle(both, newCommandContext({ actorId: 'admin' }), (c) => {
    seen.push([[...c.s1], [...c.s2]]);
    return { ok: true, events: to.map((stream) => tag(stream, t)), warnings: [] };
  }, { route: (e) => (e as Tagged).data.stream });
