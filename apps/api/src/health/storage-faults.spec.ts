// When /health reads the event store as down for its disk (probe 41 F1), and when not (probe 41b F1, F4, F6).
import { Metrics } from '../infrastructure/metrics';
import { STORAGE_FAULT_WINDOW_MS, StorageFaults } from './storage-faults';

function faults(head = { at: 10n }) {
  const metrics = new Metrics();
  const f = new StorageFaults(metrics, { headPosition: async () => head.at });
  const counted = async () => (await metrics.storageFaults.get()).values.reduce((sum, v) => sum + v.value, 0);
  return { f, head, counted };
}
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('StorageFaults', () => {
  it('a write refused for its disk: down until the log takes a commit again, whoever writes it', async () => {
    const { f, head, counted } = faults();
    f.refused('disk full', { writeRefused: true });
    await settle();
    expect(await f.current()).toMatchObject({ cause: 'disk full', head: 10n });
    expect(await f.current()).toBeDefined();
    head.at = 11n;
    expect(await f.current()).toBeUndefined();
    expect(await counted()).toBe(1);
  });

  it('nothing committed since: up again STORAGE_FAULT_WINDOW_MS after the last refusal (a balancer sends nothing meanwhile)', async () => {
    const { f } = faults();
    f.refused('I/O error', { writeRefused: true }, 1_000);
    await settle();
    expect(await f.current(1_000 + STORAGE_FAULT_WINDOW_MS)).toBeDefined();
    expect(await f.current(1_001 + STORAGE_FAULT_WINDOW_MS)).toBeUndefined();
  });

  it("a read's fault, or a lock another process held: counted, never down", async () => {
    const { f, counted } = faults();
    f.refused('a data file reads as damaged', { writeRefused: false });
    f.refused('busy: another process holds its write lock', { writeRefused: false });
    await settle();
    expect(await f.current()).toBeUndefined();
    expect(await counted()).toBe(2);
  });
});
