// Seeds a workspace of N members straight into the embedded event store (before the server starts on the
// same data dir): what N invite + accept round trips over HTTP would have written, in big append batches.
// Pass the store the app itself uses (createRollcallEventStore: SQLite wrapped by the crypto-shredding
// PersonalDataEventStore), so personal fields are stored encrypted with per-subject keys exactly as the
// app writes them, and the server pays the same decryption cost when it loads the streams.
//
// The events come from the domain's own deciders (decideOrganization / decideWorkspace, folded with
// evolve*), so their types, data and versions are exactly what the app writes; ids and metadata follow
// apps/api/src/shared/command-path/stream-handler.ts (a fresh id per event, newEventId, and
// {actorId, correlationId, causationId, idempotencyKey, occurredAt} + schemaVersion via toStored).
//
// Streams: organization-{org}: OrganizationCreated, ApiKeyIssued, UserJoinedOrganization (admin),
// WorkspaceCreated, then UserJoinedOrganization per member; workspace-{ws}: UserInvited +
// InvitationAccepted per member. Members are agents (preset `levels`).
import { randomUUID } from 'node:crypto';
import {
  type Decision,
  type DomainEvent,
  type OrganizationEvent,
  type WorkspaceContext,
  type WorkspaceEvent,
  decideOrganization,
  decideWorkspace,
  evolveOrganization,
  evolveWorkspace,
  initialOrganizationState,
  initialWorkspaceState,
  toStored,
} from '@rollcall/domain';
import { type ExpectedRevision, type NewEvent, type EventStore, newEventId } from '@rollcall/event-store';
import { formatOrgKey, randomSecret, sha256 } from '../../apps/api/src/shared/secrets';

export interface SeededWorkspace {
  organizationId: string;
  workspaceId: string;
  adminUserId: string;
  /** the organization's API key (`rk_<org>_<keyId>_<secret>`) */
  apiKey: string;
  /** user ids of the members (agents), the owner/admin excluded */
  memberIds: string[];
  events: number;
}

const INVITATION_TTL_SECONDS = 172_800;
/** events per append call (one transaction each) */
const BATCH = 20_000;

const must = <E>(d: Decision<E>, what: string): E[] => {
  if (!d.ok) throw new Error(`seed: ${what} refused: ${d.error.code} ${d.error.message}`);
  return d.events;
};

/** Buffers one stream's events and appends them in batches with the exact expected revision. */
class StreamBatcher {
  private pending: NewEvent[] = [];
  private revision = -1n;
  written = 0;
  constructor(
    private readonly store: EventStore,
    readonly stream: string,
  ) {}

  add(events: DomainEvent[], ctx: { actorId: string; idempotencyKey: string; now: string }): void {
    const metadata = {
      actorId: ctx.actorId,
      correlationId: ctx.idempotencyKey,
      causationId: ctx.idempotencyKey,
      idempotencyKey: ctx.idempotencyKey,
      occurredAt: ctx.now,
    };
    events.forEach((e) =>
      this.pending.push({
        id: newEventId(),
        ...toStored(e, metadata),
      }),
    );
  }

  get size(): number {
    return this.pending.length;
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    const expected: ExpectedRevision = this.revision < 0n ? 'no_stream' : this.revision;
    const result = await this.store.append(this.stream, events, expected);
    this.revision = result.nextRevision;
    this.written += events.length;
  }
}

/**
 * Writes an organization with one workspace of `members` members (plus its owner, the org admin).
 * `start` is the time of the first event; each member is invited and accepts one second later.
 */
export async function seedWorkspace(
  store: EventStore,
  members: number,
  label: string,
  start = Date.now() - 7 * 24 * 3600_000,
): Promise<SeededWorkspace> {
  const organizationId = randomUUID();
  const workspaceId = randomUUID();
  const adminUserId = randomUUID();
  const keyId = randomUUID();
  const secret = randomSecret();
  const org = new StreamBatcher(store, `organization-${organizationId}`);
  const ws = new StreamBatcher(store, `workspace-${workspaceId}`);
  let clock = start;
  const tick = (ms = 1) => new Date((clock += ms)).toISOString();

  // organization + first admin + key, then the workspace
  const orgState = initialOrganizationState();
  const fold = (events: OrganizationEvent[]) => events.forEach((e) => evolveOrganization(orgState, e));
  let now = tick();
  const created = must(
    decideOrganization(
      {
        type: 'CreateOrganization',
        organizationId,
        actorId: 'system',
        now,
        name: `Bench ${label}`,
        admin: { userId: adminUserId, email: `admin@${label}.bench.test`, displayName: 'Bench Admin' },
        apiKey: { keyId, secretHash: sha256(secret) },
      },
      orgState,
    ),
    'CreateOrganization',
  );
  fold(created);
  org.add(created, { actorId: 'system', idempotencyKey: randomUUID(), now });
  now = tick();
  const wsCreated = must(
    decideOrganization(
      {
        type: 'CreateWorkspace',
        organizationId,
        actorId: adminUserId,
        now,
        workspaceId,
        name: `Support ${label}`,
      },
      orgState,
    ),
    'CreateWorkspace',
  );
  fold(wsCreated);
  org.add(wsCreated, { actorId: adminUserId, idempotencyKey: randomUUID(), now });
  await org.flush();

  const info = orgState.workspaces.get(workspaceId)!;
  const ctx: WorkspaceContext = { org: orgState, ws: initialWorkspaceState(info) };
  const foldWs = (events: WorkspaceEvent[]) => events.forEach((e) => evolveWorkspace(ctx.ws, e));
  const memberIds: string[] = [];
  for (let i = 0; i < members; i++) {
    // invite (by the org admin)
    const invitedAt = tick();
    const invitationId = randomUUID();
    const invited = must(
      decideWorkspace(
        {
          type: 'InviteMember',
          workspaceId,
          actorId: adminUserId,
          now: invitedAt,
          invitationId,
          email: `member-${i}@${label}.bench.test`,
          roles: ['agent'],
          ttlSeconds: INVITATION_TTL_SECONDS,
        },
        ctx,
      ),
      'InviteMember',
    );
    foldWs(invited);
    ws.add(invited, { actorId: adminUserId, idempotencyKey: randomUUID(), now: invitedAt });

    // accept (by the invitee): the org user first, then the member, as AcceptInvitationHandler does
    const acceptedAt = tick(1000);
    const newUserId = randomUUID();
    const accepted = must(
      decideWorkspace(
        { type: 'AcceptInvitation', workspaceId, now: acceptedAt, invitationId, linkVersion: 1, newUserId },
        ctx,
      ),
      'AcceptInvitation',
    );
    const { userId, email } = (accepted[0] as Extract<WorkspaceEvent, { type: 'InvitationAccepted' }>).data;
    const joined = must(
      decideOrganization(
        {
          type: 'JoinOrganization',
          organizationId,
          actorId: userId,
          now: acceptedAt,
          newUserId: userId,
          email,
        },
        orgState,
      ),
      'JoinOrganization',
    );
    fold(joined);
    foldWs(accepted);
    const acceptCtx = { actorId: userId, idempotencyKey: randomUUID(), now: acceptedAt };
    org.add(joined, acceptCtx);
    ws.add(accepted, acceptCtx);
    memberIds.push(userId);

    if (org.size >= BATCH) await org.flush();
    if (ws.size >= BATCH) await ws.flush();
  }
  await org.flush();
  await ws.flush();
  return {
    organizationId,
    workspaceId,
    adminUserId,
    apiKey: formatOrgKey(organizationId, keyId, secret),
    memberIds,
    events: org.written + ws.written,
  };
}
