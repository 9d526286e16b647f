import { KeyedMutex } from './keyed-mutex';

const tick = () => new Promise((r) => setImmediate(r));

describe('KeyedMutex.hold (the turns a contended deletion takes: contended-turns.ts)', () => {
  it('holds every key until released: a task of one of them waits, a task of another key runs', async () => {
    const turns = new KeyedMutex();
    const release = await turns.hold(['workspace-b', 'workspace-a']);
    const ran: string[] = [];
    const held = turns.run('workspace-a', async () => void ran.push('a'));
    const free = turns.run('workspace-c', async () => void ran.push('c'));
    await free;
    await tick();
    expect(ran).toEqual(['c']);
    release();
    await held;
    expect(ran).toEqual(['c', 'a']);
  });

  it('two holders of overlapping keys named in opposite orders both get them, one after the other (one order: no deadlock)', async () => {
    const turns = new KeyedMutex();
    const order: string[] = [];
    const take = async (name: string, keys: string[]) => {
      const release = await turns.hold(keys);
      order.push(`${name} in`);
      await tick();
      order.push(`${name} out`);
      release();
    };
    await Promise.all([take('first', ['x', 'y', 'z']), take('second', ['z', 'y', 'x'])]);
    expect(order).toEqual(['first in', 'first out', 'second in', 'second out']);
  });
});
