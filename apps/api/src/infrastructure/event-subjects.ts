import type { IntegrationEvent } from './integration-event';

/**
 * Where the NATS transport publishes an integration event (ROLLCALL_NATS_EVENT_SUBJECTS; docs/adr/0021 "Session 66"):
 * - `operator` (the default, as before session 66): `rollcall.events.<Type>`, every organization's events on one
 *   subject per type — the operator's consumers;
 * - `organization`: `rollcall.org.<organizationId>.events.<Type>`, so that a NATS user allowed to subscribe to
 *   `rollcall.org.<its organization>.>` alone gets its organization's events and no other's (docs/security.md);
 * - `both`: each event on both (twice the messages).
 * An event that names no organization (a workspace's or a presence stream's from before session 58 whose data does not
 * name it either), or one whose id is no NATS subject token, goes on the operator's subject whatever the setting:
 * never dropped.
 */
export const NATS_EVENT_SUBJECTS = ['operator', 'organization', 'both'] as const;
export type NatsEventSubjects = (typeof NATS_EVENT_SUBJECTS)[number];

/** a NATS subject token as the ids Rollcall makes are (UUIDs): no `.`, no wildcard, no space */
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export const operatorSubject = (type: string): string => `rollcall.events.${type}`;
export const organizationSubject = (organizationId: string, type: string): string => `rollcall.org.${organizationId}.events.${type}`;

/** a subject an event is published on; `organizationId`: an organization's own subject */
export interface EventSubject {
  subject: string;
  organizationId?: string;
}

/** the subjects one event is published on, in that order */
export function subjectsOf(event: Pick<IntegrationEvent, 'type' | 'organizationId'>, mode: NatsEventSubjects): EventSubject[] {
  const organizationId = event.organizationId !== undefined && SUBJECT_TOKEN.test(event.organizationId) ? event.organizationId : undefined;
  const operator = { subject: operatorSubject(event.type) };
  if (organizationId === undefined || (mode !== 'organization' && mode !== 'both')) return [operator];
  const own = { subject: organizationSubject(organizationId, event.type), organizationId };
  return mode === 'organization' ? [own] : [operator, own];
}
