// A worker thread for preloaded-workers.int-spec.ts: waits for its data, then answers it with its thread id and
// echoes every later message (those posted right after the data included: they must not be lost).
import { parentPort, threadId } from 'node:worker_threads';
import { dataFromParent } from '../preloaded-workers';

void (async () => {
  const data = await dataFromParent<{ delayMs?: number }>();
  // as the real threads do: asynchronous work before their own message handler is attached
  await new Promise((resolve) => setTimeout(resolve, data.delayMs ?? 0));
  parentPort!.on('message', (m: unknown) => parentPort!.postMessage({ echo: m }));
  parentPort!.postMessage({ data, threadId });
})();
