import { ContendedTurns } from './contended-turns';
import { KeyedMutex } from './keyed-mutex';
import type { Loaded } from './stream-states';

const loaded = (...streams: string[]) => streams.map((stream) => ({ stream })) as unknown as Loaded<unknown>[];
const tick = () => new Promise((r) => setImmediate(r));

/** whether `key`'s turn is free now: a task of it runs before a tick passes */
async function free(turns: KeyedMutex, key: string): Promise<boolean> {
  let ran = false;
  void turns.run(key, async () => void (ran = true));
  await tick();
  return ran;
}

describe('ContendedTurns (a deletion sent back takes the turns of its workspaces: ADR 0004, "Session 26")', () => {
  it('a command over the organization takes, from its second attempt, the turns of the workspaces it loaded, not of the other streams', async () => {
    const turns = new KeyedMutex();
    const contended = new ContendedTurns({ checkLoaded: true }, 'organization-o');
    contended.loaded(loaded('organization-o', 'workspace-a', 'workspace-b', 'presence-a-u'));
    await contended.around(turns, async () => expect(await free(turns, 'workspace-a')).toBe(true));
    await contended.around(turns, async (held) => {
      expect(held).toEqual(['workspace-a', 'workspace-b']);
      expect(await free(turns, 'workspace-a')).toBe(false);
      expect(await free(turns, 'workspace-b')).toBe(false);
      expect(await free(turns, 'presence-a-u')).toBe(true);
    });
    // given back after the attempt
    await tick();
    expect(await free(turns, 'workspace-c')).toBe(true);
  });

  it('a command locked on a workspace takes no more turns, checkLoaded or not: holding its workspace it must never wait for the organization a deletion holds (the replicas e2e with deletions hung so)', async () => {
    const turns = new KeyedMutex();
    const invitation = new ContendedTurns({ checkLoaded: true }, 'workspace-a');
    invitation.loaded(loaded('workspace-a', 'organization-o'));
    // a deletion's attempt holds the organization's turn meanwhile
    const release = await turns.hold(['organization-o']);
    try {
      for (let attempt = 1; attempt <= 3; attempt++) expect(await invitation.around(turns, async (held) => [attempt, held])).toEqual([attempt, []]);
    } finally {
      release();
    }
  });
});
