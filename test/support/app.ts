import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../apps/api/src/config';
import { type RunningApp, startApp } from '../../apps/api/src/bootstrap';
import { Api, SYSTEM_KEY } from './api';

// the key, the client and the assertions of test/support/api.ts, for the files that start an app in process; a file
// that only talks to servers in child processes imports them from there and does not load the app's modules
export { Api, type Reply, SYSTEM_KEY, expectProblem, tokenOf } from './api';

export interface TestApp extends RunningApp {
  dataDir: string;
  api: Api;
  stop(): Promise<void>;
}

/** Starts the real app (HTTP + TCP) on random ports over a fresh data dir (its log lines to `logDestination`, if given). */
export async function startTestApp(env: Record<string, string> = {}, logDestination?: Parameters<typeof startApp>[1]): Promise<TestApp> {
  const dataDir = env.ROLLCALL_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'rollcall-e2e-'));
  const config = loadConfig({
    PORT: '0',
    ROLLCALL_TCP_PORT: '0',
    ROLLCALL_DATA_DIR: dataDir,
    ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY,
    ROLLCALL_PUBLIC_URL: 'https://console.acme.test',
    ROLLCALL_DURABILITY: 'normal',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const running = await startApp(config, logDestination);
  return {
    ...running,
    dataDir,
    api: new Api(running.url),
    stop: async () => {
      await running.close();
      if (!env.ROLLCALL_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

