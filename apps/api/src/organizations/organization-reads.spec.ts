import type { OrganizationState, WorkspaceInfo } from '@rollcall/domain';
import type { StreamStates } from '../shared/command-path/stream-states';
import { OrganizationReads } from './organization-reads';

/** an organization of `n` workspaces, created one a second, as its decision state holds them */
function organizationOf(n: number) {
  const workspaces = new Map<string, WorkspaceInfo>();
  for (let i = 0; i < n; i++) {
    const workspaceId = `ws-${String(i).padStart(5, '0')}`;
    workspaces.set(workspaceId, { workspaceId, organizationId: 'org-1', name: `W${i}`, plan: 'standard', accessModel: 'levels', ownerUserId: 'u-1', createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() } as WorkspaceInfo);
  }
  const loaded: string[] = [];
  const states = {
    organization: async () => ({ state: { exists: true, workspaces, users: new Map() } as unknown as OrganizationState }),
    workspace: async (_org: unknown, workspaceId: string) => (loaded.push(workspaceId), undefined),
  } as unknown as StreamStates;
  return { reads: new OrganizationReads(states), loaded };
}

describe("the organization's workspace list (the system key's view: no actor)", () => {
  it('without a limit, a page of the first 1,000 with `next`, loading only their states (probe 59: 20,000 workspaces in one answer held the event loop ~2 s)', async () => {
    const { reads, loaded } = organizationOf(2500);
    const first = await reads.workspaces('org-1', undefined);
    expect([first.items.length, first.items[0]!.name, first.items.at(-1)!.name, first.next]).toEqual([1000, 'W0', 'W999', 'ws-00999']);
    expect(loaded).toHaveLength(1000);
    const last = await reads.workspaces('org-1', undefined, { after: 'ws-01999' });
    expect([last.items.length, last.items[0]!.name, last.next]).toEqual([500, 'W2000', null]);
    expect(await reads.workspaces('org-1', undefined, { limit: 3, after: 'ws-02496' })).toMatchObject({ items: [{ name: 'W2497' }, { name: 'W2498' }, { name: 'W2499' }], next: null });
  });

  it('a full page lets other work run between its workspaces (a turn of the event loop every 50)', async () => {
    const { reads } = organizationOf(1000);
    let turns = 0;
    let reading = true;
    const count = () => {
      if (!reading) return;
      turns++;
      setImmediate(count);
    };
    setImmediate(count);
    await reads.workspaces('org-1', undefined);
    reading = false;
    // 19 turns given up inside the page (and the immediates queued meanwhile ran in them)
    expect(turns).toBeGreaterThanOrEqual(19);
  });
});
