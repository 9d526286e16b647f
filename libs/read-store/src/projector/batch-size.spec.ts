import { BatchSize } from './batch-size';

describe('BatchSize: how many events the projector commits at once', () => {
  it('halves after a commit refused for its size, down to one event, and doubles back after 16 commits in a row', () => {
    const size = new BatchSize(8);
    size.failed();
    expect(size.value).toBe(4);
    for (let i = 0; i < 3; i++) size.failed();
    expect(size.value).toBe(1);
    for (let i = 0; i < 15; i++) size.committed();
    expect(size.value).toBe(1);
    size.committed();
    expect(size.value).toBe(2);
    for (let i = 0; i < 100; i++) size.committed();
    expect(size.value).toBe(8);
  });

  it('a refusal starts the count again', () => {
    const size = new BatchSize(8);
    size.failed();
    for (let i = 0; i < 15; i++) size.committed();
    size.failed();
    for (let i = 0; i < 15; i++) size.committed();
    expect(size.value).toBe(2);
  });
});
