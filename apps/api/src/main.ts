import { ConfigError, loadConfig } from './config';
import { startApp } from './bootstrap';
import { setHeapGrowingPercent } from './infrastructure/heap-growing';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78);
    }
    throw error;
  }
  setHeapGrowingPercent(config.heapGrowingPercent);
  const running = await startApp(config);
  console.log(`Rollcall API on ${running.url} (docs: ${running.url}/docs), message patterns on tcp://127.0.0.1:${running.tcpPort}`);
  console.log(`Data: ${config.dataDir} · event store: ${config.eventstoreUrl ? 'EventStoreDB' : 'embedded SQLite'} · read store: ${config.mongoUrl ? 'MongoDB' : 'embedded SQLite'}`);
  if (running.generatedSystemKey) {
    console.log('\nA system API key was generated for this data dir. It is shown only now; keep it:');
    console.log(`\n  ROLLCALL_SYSTEM_API_KEY=${running.generatedSystemKey}\n`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
