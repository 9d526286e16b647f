import type { PresenceCommand } from '@rollcall/domain';
import { LogScenario, WS } from './scenario';

/**
 * A LogScenario whose users also report presence (docs/rules.md#rule-13), at chosen times: presence commands go
 * through the EventLog as the API appends them to `presence-{ws}-{user}`. A refused command throws.
 */
export class PresenceLog extends LogScenario {
  at(iso: string): this {
    this.log.now = iso;
    return this;
  }

  decide(command: PresenceCommand): this {
    const d = this.log.presence(command);
    if (!d.ok) throw new Error(`refused: ${d.error.code}`);
    return this;
  }

  heartbeat(userId: string, status: 'online' | 'away'): this {
    return this.decide({ type: 'Heartbeat', workspaceId: WS, actorId: userId, now: this.log.now, status });
  }

  timeout(userId: string, lastSeenAt: string): this {
    return this.decide({ type: 'TimeOut', workspaceId: WS, userId, now: this.log.now, lastSeenAt, timeoutSeconds: 60 });
  }
}
