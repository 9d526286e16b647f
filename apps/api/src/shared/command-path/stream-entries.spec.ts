import { laterThan, noteOccurredAt } from './stream-entries';

describe('rule 17: the latest time of a stream', () => {
  it('compares times as instants: the command path\'s UTC form as text, any other form parsed', () => {
    expect(laterThan('2026-03-01T10:00:00.001Z', '2026-03-01T10:00:00.000Z')).toBe(true);
    expect(laterThan('2026-03-01T10:00:00.000Z', '2026-03-01T10:00:00.000Z')).toBe(false);
    // 11:00+02:00 is 09:00Z: earlier, though it sorts later as text
    expect(laterThan('2026-03-01T11:00:00.000+02:00', '2026-03-01T10:00:00.000Z')).toBe(false);
    expect(laterThan('2026-03-01T10:00:00.000Z', '2026-03-01T11:00:00.000+02:00')).toBe(true);
  });

  it('keeps the latest time its events carry, whatever their order in the stream', () => {
    const entry: { lastAt?: string } = {};
    for (const at of ['2026-03-01T10:00:00.000Z', '2026-03-01T12:00:00.000Z', '2026-03-01T11:00:00.000Z', undefined, 42])
      noteOccurredAt(entry, at);
    expect(entry.lastAt).toBe('2026-03-01T12:00:00.000Z');
  });
});
