import { type PresenceCommand, type PresenceState, decidePresence, evolvePresence, initialPresenceState, presenceStream, toStored } from '@rollcall/domain';
import type { NewEvent } from '@rollcall/event-store';
import { LogScenario, ORG, WS } from './scenario';

/**
 * A LogScenario whose users also report presence (docs/rules.md#rule-13): presence commands are decided by the real
 * decider over the scenario's workspace state, and recorded into the same log (events and appends) as the API
 * appends them to `presence-{ws}-{user}`.
 */
export class PresenceLog extends LogScenario {
  private readonly presence = new Map<string, { state: PresenceState; revision: bigint }>();
  private n = 0;

  at(iso: string): this {
    this.log.now = iso;
    return this;
  }

  decide(command: PresenceCommand & { userId?: string; actorId?: string }): this {
    const userId = command.userId ?? command.actorId!;
    const ws = this.log.workspaces.get(WS)!;
    const known = this.presence.get(userId) ?? { state: initialPresenceState(), revision: -1n };
    const d = decidePresence(command, { org: this.log.orgs.get(ORG)!, ws: ws.state, presence: known.state });
    if (!d.ok) throw new Error(`refused: ${d.error.code}`);
    for (const e of d.events) {
      const n = ++this.n;
      const revision = known.revision + 1n;
      this.presence.set(userId, { state: evolvePresence(known.state, e), revision });
      const meta = { actorId: userId, correlationId: `p-${n}`, causationId: `p-${n}`, idempotencyKey: `p-${n}`, occurredAt: this.log.now };
      const stored: NewEvent = { id: `presence-${n}`, ...toStored(e, meta) };
      const stream = presenceStream(WS, userId);
      this.log.position++;
      this.log.events.push({ ...stored, stream, revision, position: this.log.position, created: new Date(this.log.now) });
      this.log.appends.push({ stream, events: [stored] });
    }
    return this;
  }

  heartbeat(userId: string, status: 'online' | 'away'): this {
    return this.decide({ type: 'Heartbeat', workspaceId: WS, actorId: userId, now: this.log.now, status });
  }

  timeout(userId: string, lastSeenAt: string): this {
    return this.decide({ type: 'TimeOut', workspaceId: WS, userId, now: this.log.now, lastSeenAt, timeoutSeconds: 60 });
  }
}
