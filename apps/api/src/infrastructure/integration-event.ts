import { type DomainEvent, fromStored } from '@rollcall/domain';
import type { RecordedEvent } from '@rollcall/event-store';

/** What consumers (e.g. the contacts service) receive on `rollcall.events.<Type>`. */
export interface IntegrationEvent {
  eventId: string;
  type: string;
  stream: string;
  /**
   * the organization whose stream holds the event (probe 87 F4): a consumer keeps or routes each organization's events
   * without mapping workspaces to organizations itself. Absent only on events of a workspace's or a presence stream
   * written before session 58 (their metadata did not name it) whose data does not name it either
   */
  organizationId?: string;
  position: string;
  occurredAt?: string;
  actorId?: string;
  /**
   * the request that appended it (its X-Request-Id, or the id made for it: docs/rules.md rule 17), the same on every
   * event that request appended — a consumer groups them, or knows the echo of its own request (probe 87 F3)
   */
  correlationId?: string;
  /** the organization API key the request came with (its id); absent for the system key and an invitation's link */
  apiKeyId?: string;
  /**
   * the schema version of `data` (docs/rules.md, "Schema versions and upcasting"): the newest this version of Rollcall
   * writes, older events upcast to it; a consumer refuses a version it does not know rather than misread it (probe 67 F4)
   */
  schemaVersion: number;
  /**
   * the push only (NATS, TCP): the position of the event this publisher handed over before this one, or of the
   * checkpoint it started from (null: the log's start); a consumer whose last applied position is below it may have
   * missed events in between, and reads the feed from its own position first (probe 67 F1). On an organization's own
   * subject (`rollcall.org.<id>.events.<Type>`), the organization's event handed over before it there
   */
  previousPosition?: string | null;
  data: unknown;
}

export const toIntegrationEvent = (e: RecordedEvent): IntegrationEvent | undefined => {
  const event = fromStored(e);
  if (!event) return undefined;
  return {
    eventId: e.id,
    type: event.type,
    stream: e.stream,
    ...organizationOfEvent(e, event),
    position: e.position.toString(),
    occurredAt: e.metadata.occurredAt as string | undefined,
    actorId: e.metadata.actorId as string | undefined,
    ...(typeof e.metadata.correlationId === 'string' && { correlationId: e.metadata.correlationId }),
    ...(typeof e.metadata.apiKeyId === 'string' && { apiKeyId: e.metadata.apiKeyId }),
    schemaVersion: event.version,
    data: publishedData(event),
  };
};

/**
 * The event's organization: written into its metadata since session 58 (Target.organizationOf); before, named by the
 * stream of an organization's own events and of its mail ledger (`organization-<id>`, `mail-<id>`), or by the data of
 * most workspace events (an invitation's, a deletion's, an erasure's).
 */
function organizationOfEvent(e: RecordedEvent, event: DomainEvent): { organizationId?: string } {
  if (typeof e.metadata.organizationId === 'string') return { organizationId: e.metadata.organizationId };
  for (const prefix of ['organization-', 'mail-']) if (e.stream.startsWith(prefix)) return { organizationId: e.stream.slice(prefix.length) };
  const named = (event.data as { organizationId?: unknown }).organizationId;
  return typeof named === 'string' ? { organizationId: named } : {};
}

/**
 * What of an event's data consumers get: all of it, but the hash of an API key's secret (`ApiKeyIssued`), which only
 * the API's key check needs: consumers learn that a key was issued, and its id. A deleted user's removal from a
 * workspace says what became of their contacts, as a revoke does (rule 12: they are unassigned, a revoke's default;
 * probe 38 F7: the contacts service had to infer it) — when it ended their membership: of one revoked before, the
 * revoke's AccessRevoked said it, and an "unassigned" here undid a reassignment for a consumer that does what it says
 * (probe 119 F2). An event written before `wasMember` (session 68) says "unassigned", as it did.
 */
const publishedData = (event: DomainEvent): unknown => {
  if (event.type === 'UserDeletedFromWorkspace') return event.data.wasMember === false ? event.data : { ...event.data, contacts: { mode: 'unassigned' } };
  if (event.type !== 'ApiKeyIssued') return event.data;
  const { secretHash: _secretHash, ...rest } = event.data;
  return rest;
};

/** What the health check reads, per transport: is its publisher following the log, and how often did it fail in a row. */
export interface IntegrationEventsStatus {
  /**
   * 'disabled': no transport configured; 'stopped': not started, or shut down; 'running': subscribed to the log;
   * 'retrying': the subscription (or the event store) failed, waiting to re-subscribe from the checkpoint, or the
   * transport refuses the event at hand (`failedSends`), sent again until it takes it;
   * 'standby': another process over the data dir publishes (it holds the publisher's lease).
   * With two transports: the worse of theirs (retrying, then running, then standby).
   */
  state: 'disabled' | 'stopped' | 'running' | 'retrying' | 'standby';
  /** failures since the last subscription that delivered an event or stayed up `stableAfterMs` (0 when healthy) */
  consecutiveFailures: number;
  /** the last failure's message (kept after recovery, for the record) */
  lastError?: string;
  /** global position of the last event published (and checkpointed), as a string; with two transports the lower */
  checkpoint?: string;
  /**
   * sends of the event at hand that a transport refused, in a row (a consumer down: it is sent again until taken), or
   * attempts whose publishes the NATS server refused (permissions: counted until the checkpoint moves; probe 114 F4)
   */
  failedSends: number;
  /** each configured transport's own (each keeps its own checkpoint: probe 38 F3) */
  transports?: Partial<Record<'nats' | 'tcp', Omit<IntegrationEventsStatus, 'transports'>>>;
}
