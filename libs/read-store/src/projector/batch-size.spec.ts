import { BatchSize } from './batch-size';

describe('BatchSize: how many events the projector commits at once', () => {
  it('halves after a commit refused for its size, down to one event, and doubles back after 16 full batches in a row', () => {
    const size = new BatchSize(8);
    size.failed(8);
    expect(size.value).toBe(4);
    for (let i = 0; i < 3; i++) size.failed(size.value);
    expect(size.value).toBe(1);
    for (let i = 0; i < 15; i++) size.committed(1);
    expect(size.value).toBe(1);
    size.committed(1);
    expect(size.value).toBe(2);
    for (let i = 0; i < 100; i++) size.committed(size.value);
    expect(size.value).toBe(8);
  });

  it('halves what was refused (an idle commit may hold fewer events than the size)', () => {
    const size = new BatchSize(1000);
    size.failed(300);
    expect(size.value).toBe(150);
  });

  it('only full batches count towards growing back, and a refusal starts the count again', () => {
    const size = new BatchSize(8);
    size.failed(8);
    for (let i = 0; i < 100; i++) size.committed(1); // idle commits of one event tell nothing
    expect(size.value).toBe(4);
    for (let i = 0; i < 15; i++) size.committed(4);
    size.failed(4);
    for (let i = 0; i < 15; i++) size.committed(2);
    expect(size.value).toBe(2);
  });
});
