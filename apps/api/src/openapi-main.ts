import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { loadConfig } from './config';
import { createOpenApiDocument } from './shared/openapi-document';

/**
 * Writes the OpenAPI document to a file (default openapi.json) without listening: the app's modules are built over
 * an empty, temporary data dir (embedded stores), the document is generated as /docs/openapi.json serves it, then
 * everything is closed. `npm run lint:openapi` lints the file with Redocly.
 */
async function main() {
  const out = resolve(process.argv[2] ?? 'openapi.json');
  const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-openapi-'));
  try {
    const config = loadConfig({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_SYSTEM_API_KEY: 'rk_system_openapi-document-only-0123456789', LOG_LEVEL: 'silent' });
    const app = await NestFactory.create(AppModule.forConfig(config), { logger: false, abortOnError: false });
    try {
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${JSON.stringify(createOpenApiDocument(app), null, 2)}\n`);
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`OpenAPI document written to ${out}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
