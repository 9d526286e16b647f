import { SYSTEM_KEY, type TestApp } from './app';

/** Waits for the notary's latest signed checkpoint to be larger than `size` (the e2e apps sign every 100 ms). */
export async function checkpointLargerThan(app: TestApp, size: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const latest = await app.api.request('GET', '/v1/audit/checkpoint', { key: SYSTEM_KEY });
    if (latest.status === 200 && Number((latest.body as string).split('\n')[1]) > size) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no checkpoint larger than ${size}`);
}
