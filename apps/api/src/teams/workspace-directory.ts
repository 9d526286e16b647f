import { Inject, Injectable } from '@nestjs/common';
import type { EventStore } from '@rollcall/event-store';
import { KeyedMutex } from '../shared/command-path/keyed-mutex';
import { type WorkspaceRef, workspaceNotFound } from '../shared/command-path/targets';
import { EVENT_STORE } from '../shared/tokens';

/**
 * Which organization a workspace belongs to, for the system key (rule 16: it links workspaces of any organizations,
 * named by workspace id alone; an organization key resolves its own workspaces with `resolveWorkspace`).
 *
 * Read from the event log, the source of truth, not from a read model that may lag a workspace just created: the
 * `WorkspaceCreated` events (organization streams), filtered by type (indexed in the embedded store, server-side in
 * KurrentDB). A workspace never moves or disappears, so what is known stays true; an unknown id reads only the
 * events after the last one seen (docs/adr/0009).
 */
@Injectable()
export class WorkspaceDirectory {
  private readonly organizations = new Map<string, string>();
  /** the position of the last WorkspaceCreated read; the next look reads after it */
  private after: bigint | undefined;
  private readonly turns = new KeyedMutex();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** the workspace with its organization; WORKSPACE_NOT_FOUND when the log has no such workspace */
  async resolve(workspaceId: string): Promise<WorkspaceRef> {
    let organizationId = this.organizations.get(workspaceId);
    if (organizationId === undefined) {
      await this.turns.run('catch-up', () => this.catchUp());
      organizationId = this.organizations.get(workspaceId);
    }
    if (organizationId === undefined) throw workspaceNotFound(workspaceId);
    return { organizationId, workspaceId };
  }

  /** the workspace's organization; undefined when the log has no such workspace */
  async organizationOf(workspaceId: string): Promise<string | undefined> {
    try {
      return (await this.resolve(workspaceId)).organizationId;
    } catch {
      return undefined;
    }
  }

  private async catchUp(): Promise<void> {
    const events = this.store.readAll({ ...(this.after !== undefined && { fromPosition: this.after }), filter: { eventTypes: ['WorkspaceCreated'] } });
    for await (const e of events) {
      const { workspaceId, organizationId } = e.data as { workspaceId?: unknown; organizationId?: unknown };
      if (typeof workspaceId === 'string' && typeof organizationId === 'string') this.organizations.set(workspaceId, organizationId);
      this.after = e.position;
    }
  }
}
