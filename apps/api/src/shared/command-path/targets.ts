import {
  type DomainEvent,
  type OrganizationState,
  type PresenceContext,
  type PresenceState,
  type WorkspaceContext,
  type WorkspaceState,
  domainError,
  evolvePresence,
  initialPresenceState,
  presenceAfterMembershipEnded,
  isOrgAdmin,
  presenceStream,
} from '@rollcall/domain';
import { type Principal, organizationOf } from '../auth';
import { DomainException, type Target } from './stream-handler';
import { inOrganization } from './command-target';
import { type Loaded, type StreamKind, type StreamStates, organizationStream, workspaceStream } from './stream-states';

/** A workspace is addressed within the caller's organization; another organization's workspace is "not found". */
export interface WorkspaceRef {
  organizationId: string;
  workspaceId: string;
}

export const workspaceNotFound = (workspaceId: string) =>
  new DomainException(domainError('WORKSPACE_NOT_FOUND', `Workspace ${workspaceId} does not exist.`));

/** The organization stream: its own state is the decision context. */
export const organization = (organizationId: string): Target<OrganizationState> => ({
  lock: organizationStream(organizationId),
  organizationOf: inOrganization(organizationId),
  load: async (states) => {
    const org = await states.organization(organizationId);
    return { context: org.state, streams: [org] };
  },
});

/**
 * Loads a workspace's decision context: its own stream and its organization's (admins, users, emails). The
 * organization is loaded again after the workspace (a cache hit when its stream has not moved): an append to both
 * that the workspace state holds (another replica's accept, committed between the two loads) is then in the
 * organization state too. Loaded only before, the organization could be older than the workspace — a new member
 * without their address, so an invitation to it was not refused (rule 6) — where docs/adr/0001 allows it to be
 * fresher than the decision, never older. (This needs reads that never go back in the log: the embedded store's
 * answer from a head it remembers is looked at again once a read found a later commit, KnownHeads.saw.)
 */
export async function loadWorkspace(states: StreamStates, ref: WorkspaceRef) {
  const before = await states.organization(ref.organizationId);
  const ws = await states.workspace(before.state, ref.workspaceId);
  if (!ws) throw workspaceNotFound(ref.workspaceId);
  const org = await states.organization(ref.organizationId);
  return { org, ws, context: { org: org.state, ws: ws.state } satisfies WorkspaceContext };
}

/** Who acts, and what they decide: the decision a workspace command makes (`workspace`). */
export interface ActedBy<C extends WorkspaceContext> {
  actorId: string;
  decide: (context: C) => { ok: boolean };
}

/**
 * A workspace stream, decided over `{ org, ws }`. Only the workspace stream is appended to; the organization state
 * may be fresher than the decision, never older (docs/adr/0001).
 *
 * With `actedBy`, a decision that rests on its actor being an org admin (refused were they not: they are no member,
 * or their own access falls short) also checks the organization's stream at the revision loaded, and the command
 * passes `checkLoaded`: the actor's demotion or deletion committed meanwhile sends it back, to be decided again and
 * refused (probe 29: a demoted or deleted org admin's in-flight access change, revoke, resend, cancel or team change
 * was appended after their authority ended). Only those: an org admin who is an owner of the workspace, as its
 * creator is, decides on the workspace stream alone, and the organization's writes (new users' acceptances) never
 * send their commands back.
 */
export const workspace = <C extends WorkspaceContext = WorkspaceContext>(ref: WorkspaceRef, actedBy?: ActedBy<C>, states?: StreamStates): Target<C> => ({
  lock: workspaceStream(ref.workspaceId),
  organizationOf: inOrganization(ref.organizationId),
  ...orgAdminTurn(ref, actedBy, states),
  load: async (loading) => {
    const { org, ws, context } = await loadWorkspace(loading, ref);
    return { context: context as C, streams: checkingOrgAdmin(context as C, actedBy, ws, org) };
  },
});

/**
 * The organization's turn (as an invitation's, `writes: false`) for a command that rests on its actor being an org
 * admin, as far as the states this process holds tell (a hint: the load decides what is checked). Without it, this
 * process's acceptances, which write the organization's stream, sent it back, up to a 409 in an onboarding burst
 * (review of session 29).
 */
export function orgAdminTurn<C extends WorkspaceContext>(ref: WorkspaceRef, actedBy: ActedBy<C> | undefined, states: StreamStates | undefined): Pick<Target<C>, 'outerTurn'> {
  const cached = actedBy && states ? cachedContext(states, ref) : undefined;
  return cached && restsOnOrgAdmin(cached as C, actedBy!) ? { outerTurn: { stream: organizationStream(ref.organizationId), writes: false } } : {};
}

/** the command's own stream, and the organization's as a check when its decision rests on its actor being an org admin */
export const checkingOrgAdmin = <C extends WorkspaceContext>(context: C, actedBy: ActedBy<C> | undefined, own: Loaded<unknown>, org: Loaded<unknown>): Loaded<unknown>[] =>
  actedBy && restsOnOrgAdmin(context, actedBy) ? [own, org] : [own];

/** whether `actedBy`'s decision would be refused were its actor no org admin (and they are one) */
const restsOnOrgAdmin = <C extends WorkspaceContext>(context: C, actedBy: ActedBy<C>): boolean =>
  isOrgAdmin(context.org, actedBy.actorId) && !actedBy.decide(withoutOrgAdmin(context, actedBy.actorId)).ok;

/** the workspace's context as this process holds it, without loading (undefined unless both streams are cached) */
function cachedContext(states: StreamStates, ref: WorkspaceRef): WorkspaceContext | undefined {
  const org = (states.cached(organizationStream(ref.organizationId)) as { state: OrganizationState } | undefined)?.state;
  const ws = (states.cached(workspaceStream(ref.workspaceId)) as { state: WorkspaceState } | undefined)?.state;
  return org && ws ? { org, ws } : undefined;
}

/**
 * The context as it would be were `userId` no org admin: the organization's users answer `get(userId)` with them
 * demoted (a view: the organization's state is never copied nor changed, whatever its size).
 */
function withoutOrgAdmin<C extends WorkspaceContext>(context: C, userId: string): C {
  const demoted = { ...context.org.users.get(userId)!, orgAdmin: false };
  const users = context.org.users;
  const view = new Proxy(users, {
    get: (target, name) => {
      if (name === 'get') return (id: string) => (id === userId ? demoted : target.get(id));
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { ...context, org: { ...context.org, users: view } };
}

/**
 * A workspace stream decided over `{ org, ws }` where the decision rests on who holds an address in the organization
 * (an invitation: the invitee bound, rule 6's ALREADY_MEMBER, rule 3's own address). Appended to the workspace alone,
 * with the command's `checkLoaded` checking the organization's stream at the revision loaded: an email change
 * confirmed meanwhile sends it back (probe 26: a member invited the address they were confirming as theirs, both
 * succeeded, and after a revoke they accepted their own invitation; the confirmation checks the workspaces the same way).
 */
export const workspaceCheckingOrganization = (ref: WorkspaceRef): Target<WorkspaceContext> => ({
  lock: workspaceStream(ref.workspaceId),
  organizationOf: inOrganization(ref.organizationId),
  outerTurn: { stream: organizationStream(ref.organizationId), writes: false },
  load: async (states) => {
    const { org, ws, context } = await loadWorkspace(states, ref);
    // the workspace first: parts route to streams[0] by default
    return { context, streams: [ws, org] };
  },
});

/** A workspace together with its organization, both appended to atomically (accepting an invitation). */
export const workspaceAndOrganization = (ref: WorkspaceRef): Target<WorkspaceContext> => ({
  lock: workspaceStream(ref.workspaceId),
  organizationOf: inOrganization(ref.organizationId),
  outerTurn: { stream: organizationStream(ref.organizationId), writes: true },
  load: async (states) => {
    const { org, ws, context } = await loadWorkspace(states, ref);
    return { context, streams: [org, ws] };
  },
});

/** An organization with every one of its workspaces (deleting a user, gathering pending invitations). */
export interface OrganizationWide {
  org: OrganizationState;
  workspaces: WorkspaceState[];
}

/** The organization's stream alone, in the organization-wide shape (no workspaces loaded). */
export const organizationAlone = (organizationId: string): Target<OrganizationWide> => ({
  lock: organizationStream(organizationId),
  organizationOf: inOrganization(organizationId),
  load: async (states) => {
    const org = await states.organization(organizationId);
    return { context: { org: org.state, workspaces: [] }, streams: [org] };
  },
});

/**
 * Workspaces loaded at once by `organizationWide`: each load reads its stream from the revision cached (one round trip
 * to KurrentDB), and one after the other an organization of 1,000 workspaces took ~1 s per attempt of a deletion — the
 * time its workspaces' writes could send it back in, and, once contended, hold up (contended-turns.ts).
 */
const WORKSPACE_LOADS_AT_ONCE = 16;

export const organizationWide = (organizationId: string): Target<OrganizationWide> => ({
  lock: organizationStream(organizationId),
  organizationOf: inOrganization(organizationId),
  load: async (states) => {
    const org = await states.organization(organizationId);
    const ids = [...org.state.workspaces.keys()];
    const loaded: Loaded<WorkspaceState>[] = [];
    for (let i = 0; i < ids.length; i += WORKSPACE_LOADS_AT_ONCE)
      for (const ws of await Promise.all(ids.slice(i, i + WORKSPACE_LOADS_AT_ONCE).map((id) => states.workspace(org.state, id)))) if (ws) loaded.push(ws);
    return { context: { org: org.state, workspaces: loaded.map((w) => w.state) }, streams: [org, ...loaded] };
  },
});

/** How a user's presence stream folds (docs/adr/0006). */
export const PRESENCE_STREAM: StreamKind<PresenceState> = {
  initial: initialPresenceState,
  evolve: (state, event) => (event.type === 'PresenceChanged' ? evolvePresence(state, event) : event.type === 'MembershipEnded' ? presenceAfterMembershipEnded(state) : state),
};

/**
 * One user's presence stream in a workspace, decided over the workspace (membership, authority: loaded fresh) and
 * the presence state. Only the presence stream is appended to, at its expected revision: two replicas deciding the
 * same timeout append it once (docs/rules.md#presence-details). A member's own status change is decided on their
 * membership, and this revision orders it after its end: the revoke or deletion that ends it writes MembershipEnded
 * on this stream in its own commit (`membershipEndedStream`), so a heartbeat decided before it is sent back, decided
 * again and refused — and no other write to the workspace sends it back (probe 30b: a workspace-revision check met
 * another replica's writes at every attempt). With `actedBy` (someone making a member offline),
 * the decision rests on the actor's authority: the workspace's stream is checked at the revision loaded (a manager
 * revoked or demoted meanwhile on another replica was appended after it: review of session 30), and the
 * organization's too when it rests on their being an org admin.
 */
export const presence = (ref: WorkspaceRef, userId: string, actedBy?: ActedBy<PresenceContext>, states?: StreamStates): Target<PresenceContext> => ({
  lock: presenceStream(ref.workspaceId, userId),
  organizationOf: inOrganization(ref.organizationId),
  // as `workspace`: an org admin's command that rests on their authority (making a member offline) checks the
  // organization's stream too, in its turn (the command passes `checkLoaded`; the hint decides on a presence state
  // not loaded yet: making a member offline rests on the workspace alone)
  ...orgAdminTurn(ref, actedBy && { actorId: actedBy.actorId, decide: (c: WorkspaceContext) => actedBy.decide({ ...c, presence: initialPresenceState() }) }, states),
  load: async (loading) => {
    const { org, ws, own, context } = await loadPresence(loading, ref, userId);
    // the presence stream first: parts route to streams[0] by default
    return { context, streams: actedBy ? [...checkingOrgAdmin(context, actedBy, own, org), ws] : [own] };
  },
});

/**
 * The workspace's context with `userId`'s presence state in it, and the streams it was loaded from. The presence
 * stream first: a revoke or deletion committed before its read is in the workspace read after it (reads never go back
 * in the log: KnownHeads.saw), and one committed after it moves the revision the command appends at. Read the other
 * way round, an ending committed between the two reads was in that revision (its MembershipEnded) and not in the
 * membership decided on: the status change was appended after it (review of session 31).
 */
async function loadPresence(loading: StreamStates, ref: WorkspaceRef, userId: string) {
  const own = await loading.single(presenceStream(ref.workspaceId, userId), PRESENCE_STREAM);
  const { org, ws, context } = await loadWorkspace(loading, ref);
  return { org, ws, own, context: { ...context, presence: own.state } satisfies PresenceContext };
}

/**
 * The stream a MembershipEnded goes to (its member's presence stream), else undefined: for the `route` of a command
 * that ends memberships (a revoke, a deletion), which appends there unchecked (`unchecked: isPresenceStream`: not
 * loaded, at no expected revision).
 */
export const membershipEndedStream = (event: DomainEvent): string | undefined =>
  event.type === 'MembershipEnded' ? presenceStream(event.data.workspaceId, event.data.userId) : undefined;

export const isPresenceStream = (stream: string): boolean => stream.startsWith('presence-');

/** Resolves `{ws}` within the key's organization: another organization's workspace is "not found". */
export async function resolveWorkspace(states: StreamStates, principal: Principal, workspaceId: string): Promise<WorkspaceRef> {
  const organizationId = organizationOf(principal);
  // a workspace never disappears once created: the cached state answers unless it does not know it yet
  const known = (await states.organizationCached(organizationId)).workspaces.has(workspaceId);
  if (!known && !(await states.organization(organizationId)).state.workspaces.has(workspaceId)) throw workspaceNotFound(workspaceId);
  return { organizationId, workspaceId };
}
