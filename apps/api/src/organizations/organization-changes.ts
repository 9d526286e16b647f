import { Inject, Injectable } from '@nestjs/common';
import { type OrganizationEvent, checkReadable, fromStored } from '@rollcall/domain';
import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import { instantRange } from '@rollcall/read-store';
import { ProblemException, problem } from '../shared/http/problem';
import { organizationStream } from '../shared/command-path/stream-states';
import { EVENT_STORE } from '../shared/tokens';
import { OrganizationReads } from './organization-reads';

/**
 * The kinds of change the organization's own stream records (docs/rules.md "The organization's changes"): what the
 * permission history does not hold because it is not a workspace's access — API keys, org admins, profiles and email
 * changes, deletions, erasures, workspaces created (probe 69 F6: none of it could be asked by an organization).
 */
export const ORG_CHANGES = [
  'organization_created',
  'user_joined',
  'workspace_created',
  'profile_updated',
  'email_change_requested',
  'email_change_confirmed',
  'email_change_withdrawn',
  'org_admin_granted',
  'org_admin_revoked',
  'user_deleted',
  'address_erased',
  'api_key_issued',
  'api_key_revoked',
  'api_key_label_changed',
  'organization_closing',
  'organization_closed',
  'data_exported',
] as const;
export type OrgChangeKind = (typeof ORG_CHANGES)[number];

/** One change of the organization: what, to whom, by whom, with which key and request, and where it sits in the log. */
export interface OrgChangeView {
  change: OrgChangeKind;
  at: string;
  /** who made it (as the request named them: `X-Actor-Id`); null where the event names nobody */
  actorId: string | null;
  apiKeyId: string | null;
  correlationId: string | null;
  /** the user it is about (joined, profile, email, org admin, deletion) */
  userId: string | null;
  /** the workspace created */
  workspaceId: string | null;
  /** the API key issued or revoked */
  keyId: string | null;
  /** what else the change says; nothing personal (no address, no name: the user's profile is `GET …/users/{userId}`) */
  details: Record<string, unknown> | null;
  eventId: string;
  /** the event's place in the log: an inclusion proof is asked by it (GET /v1/audit/proofs/inclusion?position=) */
  position: string;
  /** its place in the organization's stream: the cursor (`after`) */
  revision: string;
}

export interface OrgChangesPage {
  items: OrgChangeView[];
  /** send it as `after` for the next page; null: none left (in this direction, as of this read) */
  next: string | null;
}

export interface OrgChangesQuery {
  after?: string;
  limit: number;
  direction?: 'asc' | 'desc';
  change?: readonly OrgChangeKind[];
  /** ISO instants, inclusive, as the history's (a date as `to`: through that day's end, UTC) */
  from?: string;
  to?: string;
  /** the changes written with this API key (their `apiKeyId`; probe 80 F13: "what did your support key do?") */
  apiKeyId?: string;
  /** the changes this user made, or the operator (`system`; probe 81 F8: "what did your support do in our organization?") */
  actorId?: string;
}

/**
 * events a page looks through for a filter at most: a filter of a rare kind over a long stream (a large organization's
 * joins) answers a page with fewer items, or none, and `next` further on, rather than reading the whole stream at once
 */
const SCAN_PER_PAGE = 5000;
/** events read from the store in one go */
const WINDOW = 500;

const entry = (recorded: RecordedEvent, event: OrganizationEvent): OrgChangeView => {
  const m = recorded.metadata;
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  const base = {
    at: text(m.occurredAt) ?? recorded.created.toISOString(),
    actorId: text(m.actorId),
    apiKeyId: text(m.apiKeyId),
    correlationId: text(m.correlationId),
    userId: null,
    workspaceId: null,
    keyId: null,
    details: null,
    eventId: recorded.id,
    position: String(recorded.position),
    revision: String(recorded.revision),
  };
  switch (event.type) {
    case 'OrganizationCreated':
      return { ...base, change: 'organization_created', details: { name: event.data.name } };
    case 'UserJoinedOrganization':
      // where they joined: the workspace and invitation (recorded since session 61; null before, and for the first admin)
      return { ...base, change: 'user_joined', userId: event.data.userId, workspaceId: event.data.workspaceId ?? null, details: { orgAdmin: event.data.orgAdmin, invitationId: event.data.invitationId ?? null } };
    case 'WorkspaceCreated': {
      const { name, plan, accessModel, ownerUserId } = event.data;
      return { ...base, change: 'workspace_created', workspaceId: event.data.workspaceId, details: { name, plan, accessModel, ownerUserId } };
    }
    case 'UserProfileUpdated':
      // which fields, not their values: those are the user's personal data, erased with them (rule 12)
      return { ...base, change: 'profile_updated', userId: event.data.userId, details: { fields: Object.keys(event.data.changes).sort() } };
    case 'EmailChangeRequested':
      return { ...base, change: 'email_change_requested', userId: event.data.userId, details: { version: event.data.version, expiresAt: event.data.expiresAt } };
    case 'EmailChangeConfirmed':
      return { ...base, change: 'email_change_confirmed', userId: event.data.userId, details: { version: event.data.version } };
    case 'EmailChangeWithdrawn':
      return { ...base, change: 'email_change_withdrawn', userId: event.data.userId, details: { version: event.data.version } };
    case 'OrgAdminChanged':
      return { ...base, change: event.data.orgAdmin ? 'org_admin_granted' : 'org_admin_revoked', userId: event.data.userId };
    case 'UserDeleted':
      return { ...base, change: 'user_deleted', userId: event.data.userId, details: { workspaceIds: event.data.workspaceIds } };
    case 'AddressErased':
      return { ...base, change: 'address_erased', details: { erasureId: event.data.erasureId, workspaceIds: event.data.workspaceIds } };
    case 'ApiKeyIssued':
      // never the secret's hash
      return { ...base, change: 'api_key_issued', keyId: event.data.keyId, details: { label: event.data.label ?? null } };
    case 'ApiKeyRevoked':
      return { ...base, change: 'api_key_revoked', keyId: event.data.keyId };
    case 'OrganizationClosing':
      return { ...base, change: 'organization_closing' };
    case 'DataExported':
      return { ...base, change: 'data_exported', workspaceId: event.data.workspaceId ?? null, userId: event.data.userId ?? null, details: { what: event.data.what } };
    case 'OrganizationClosed':
      return { ...base, change: 'organization_closed' };
    case 'ApiKeyLabelChanged':
      return { ...base, change: 'api_key_label_changed', keyId: event.data.keyId, details: { label: event.data.label, previousLabel: event.data.previousLabel } };
    default:
      // every organization event is listed above: one added later fails here, in its tests, until it is
      throw new Error(`an organization stream holds ${recorded.type}, which the organization's changes do not list`);
  }
};

const MAX_REVISION = 2n ** 63n - 1n;

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** the revision a cursor names: the `next` of an earlier page, a whole number */
function cursorRevision(after: string | undefined): bigint | undefined {
  if (after === undefined) return undefined;
  // a revision is a 64-bit integer in both stores (probe 72 F1: a larger one was a 500 from SQLite's bind)
  if (!/^\d{1,19}$/.test(after) || BigInt(after) > MAX_REVISION)
    throw new ProblemException(problem(400, 'VALIDATION_FAILED', 'after must be the next of a previous page (a revision).', [{ field: 'after', message: 'must be the next of a previous page' }]));
  return BigInt(after);
}

/**
 * The organization's changes (docs/rules.md "The organization's changes"), read from its stream in the log — not a
 * read model: nothing to rebuild, current at once, and each entry's `position` is provable as the log's (the audit's
 * inclusion proofs). Org admins only, as the organization's users are.
 */
@Injectable()
export class OrganizationChanges {
  constructor(
    @Inject(OrganizationReads) private readonly reads: OrganizationReads,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async list(organizationId: string, actorId: string | undefined, query: OrgChangesQuery): Promise<OrgChangesPage> {
    const revision = await this.reads.orgAdminReading(organizationId, actorId);
    const after = cursorRevision(query.after);
    // a `next` names a revision this stream has: one past its end is no page's (probe 82 F3: a log position given as
    // `after` answered an empty page, a false "nothing changed since"), as the feed refuses a position past the log's
    // (desc from past the end starts at the last: probe 72 F2)
    if (after !== undefined && query.direction !== 'desc' && after > revision + 1n)
      throw new ProblemException(
        problem(400, 'VALIDATION_FAILED', `after must be the next of a previous page: a revision of this organization's changes (they end at ${revision}), not a log position.`, [
          { field: 'after', message: 'is past the last revision' },
        ]),
      );
    // a stream's times never go back (rule 17): past the range's far end, nothing later in this direction is in it
    const { from: since, to: until } = instantRange(query.from, query.to);
    let pastRange = false;
    const wanted = query.change && new Set<string>(query.change);
    const items: OrgChangeView[] = [];
    let scanned = 0;
    // asc: the revisions after `after`; desc: those before it (or from the stream's last, as this read finds it)
    // desc from past the stream's end starts at its last (probe 72 F2: the window read nothing there, and `next` named
    // the same place again, for ever)
    let next = query.direction === 'desc' ? min((after ?? revision + 1n) - 1n, revision) : (after ?? -1n) + 1n;
    const more = () => !pastRange && (query.direction === 'desc' ? next >= 0n : next <= revision);
    while (items.length < query.limit && scanned < SCAN_PER_PAGE && more()) {
      const from = query.direction === 'desc' ? (next - BigInt(WINDOW) + 1n > 0n ? next - BigInt(WINDOW) + 1n : 0n) : next;
      const window: RecordedEvent[] = [];
      for await (const recorded of this.store.readStream(organizationStream(organizationId), { fromRevision: from, maxCount: WINDOW, personalData: 'sealed' })) {
        if (recorded.revision > revision || (query.direction === 'desc' && recorded.revision > next)) break;
        window.push(recorded);
      }
      if (window.length === 0) break;
      if (query.direction === 'desc') window.reverse();
      for (const recorded of window) {
        next = query.direction === 'desc' ? recorded.revision - 1n : recorded.revision + 1n;
        scanned++;
        // an event a later version wrote: not listed as if it were something else (docs/adr/0020)
        checkReadable(recorded);
        const event = fromStored(recorded) as OrganizationEvent | undefined;
        if (!event) continue;
        const change = entry(recorded, event);
        if ((query.direction === 'desc' && since !== undefined && change.at < since) || (query.direction !== 'desc' && until !== undefined && change.at > until)) {
          pastRange = true;
          break;
        }
        const inRange = (since === undefined || change.at >= since) && (until === undefined || change.at <= until);
        if (inRange && (!wanted || wanted.has(change.change)) && (query.apiKeyId === undefined || change.apiKeyId === query.apiKeyId) && (query.actorId === undefined || change.actorId === query.actorId)) items.push(change);
        if (items.length === query.limit || scanned === SCAN_PER_PAGE) break;
      }
    }
    return { items, next: more() ? String(query.direction === 'desc' ? next + 1n : next - 1n) : null };
  }
}
