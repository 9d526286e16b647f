import { MemoryModel } from './testing/memory-model';
import { LOG_T0 } from './testing/event-log';
import { LogScenario } from './testing/scenario';
import { WORKSPACES, workspacesProjection } from './workspaces';

describe('workspaces projection', () => {
  it('keeps each workspace with its plan and access model, for effective permissions', async () => {
    const s = new LogScenario([]).workspace('ws-a', 'enterprise', 'studio').workspace('ws-b');
    const m = await new MemoryModel(workspacesProjection).run(s.events);
    expect(m.all(WORKSPACES)).toEqual([
      { _id: 'ws-a', workspaceId: 'ws-a', organizationId: 'org-1', name: 'Workspace ws-a', plan: 'enterprise', accessModel: 'studio', ownerUserId: 'admin', createdAt: LOG_T0 },
      { _id: 'ws-b', workspaceId: 'ws-b', organizationId: 'org-1', name: 'Workspace ws-b', plan: 'advanced', accessModel: 'levels', ownerUserId: 'admin', createdAt: LOG_T0 },
    ]);
  });
});
