import type { RecordedEvent } from '@rollcall/event-store';
import { HOURS_48, EventLog } from '../../libs/read-store/src/projections/testing/event-log';
import { prng } from '../../libs/read-store/src/projections/testing/simulated-traffic';

const FIRST = ['Ada', 'Bo', 'Chen', 'Dana', 'Eli', 'Fatima', 'Gus', 'Hana', 'Ivan', 'Jo', 'Kim', 'Lena', 'Mo', 'Nia', 'Omar', 'Pia', 'Quinn', 'Rosa', 'Sam', 'Tara', 'Uma', 'Vic', 'Wen', 'Xavi', 'Yara', 'Zoe'];
const LAST = ['Smith', 'Garcia', 'Nguyen', 'Müller', 'Rossi', 'Kowalski', 'Okafor', 'Tanaka', 'Silva', 'Johansson', 'Dubois', 'Novak', 'Haddad', 'Kim', 'Patel', 'Berg', 'Costa', 'Weber', 'Ivanova', 'Lopez'];
const DOMAINS = ['acme.test', 'globex.test', 'initech.test', 'umbrella.test', 'hooli.test'];

export const WORKSPACE = 'ws-bench';
export const ORGANIZATION = 'org-bench';

export interface PersonName {
  first: string;
  last: string;
  email: string;
}

export const personName = (i: number): PersonName => {
  const first = FIRST[i % FIRST.length]!;
  const last = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
  return { first, last, email: `${first}.${last}${i}@${DOMAINS[i % DOMAINS.length]}`.toLowerCase() };
};

/**
 * One workspace with `members` users, through the real deciders: each invited and (95%) accepted with a display
 * name; one in 5 has an alias, one in 30 is revoked, one in 20 stays a pending invitation. Events are handed
 * to `onChunk` as they are produced, so memory stays flat.
 */
export function generateWorkspace(members: number, onChunk: (events: RecordedEvent[]) => Promise<void> | void): Promise<void> {
  const log = new EventLog();
  const next = prng(99);
  log.createOrganization(ORGANIZATION, { userId: 'owner', email: 'owner@acme.test', displayName: 'Owner' });
  log.createWorkspace(ORGANIZATION, WORKSPACE, 'owner', 'enterprise', 'levels');
  const roles = ['agent', 'agent', 'agent', 'manager'];
  return (async () => {
    for (let i = 0; i < members; i++) {
      const name = personName(i);
      const invitationId = `inv-${i}`;
      const role = roles[next() % roles.length]!;
      const invited = log.workspace({ type: 'InviteMember', workspaceId: WORKSPACE, actorId: 'owner', now: log.now, invitationId, email: name.email, ttlSeconds: HOURS_48, roles: [role] });
      if (!invited.ok) throw new Error(invited.error.message);
      if (i % 20 !== 19) {
        const userId = `user-${i}`;
        const accepted = log.accept(WORKSPACE, invitationId, userId, `${name.first} ${name.last}`);
        if (!accepted.ok) throw new Error(accepted.error.message);
        if (i % 5 === 0) log.organization({ type: 'UpdateProfile', organizationId: ORGANIZATION, actorId: 'owner', now: log.now, userId, changes: { alias: `${name.first.toLowerCase()}${i % 100}` } });
        if (i % 30 === 7) log.workspace({ type: 'RevokeAccess', workspaceId: WORKSPACE, actorId: 'owner', now: log.now, userId });
      }
      log.advance(7);
      if (log.events.length >= 20_000) await onChunk(log.events.splice(0, log.events.length));
    }
    await onChunk(log.events.splice(0, log.events.length));
  })();
}
