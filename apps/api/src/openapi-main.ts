import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { loadConfig } from './config';
import { createOpenApiDocument } from './shared/http/openapi-document';

/**
 * The OpenAPI document without listening: the app's modules are built over an empty, temporary data dir (embedded
 * stores), the document is generated as /docs/openapi.json serves it, then everything is closed.
 */
export async function buildOpenApiDocument(): Promise<OpenAPIObject> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-openapi-'));
  try {
    const config = loadConfig({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_SYSTEM_API_KEY: 'rk_system_openapi-document-only-0123456789', LOG_LEVEL: 'silent' });
    // the adapter of the app (http-app.ts); its options change nothing of the document
    const app = await NestFactory.create(AppModule.forConfig(config), new FastifyAdapter(), { logger: false, abortOnError: false });
    try {
      return createOpenApiDocument(app);
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `npm run openapi -- <file>` (default openapi.json): what `npm run lint:openapi` lints with Redocly. */
async function main() {
  const out = resolve(process.argv[2] ?? 'openapi.json');
  const document = await buildOpenApiDocument();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`OpenAPI document written to ${out}`);
}

if (require.main === module)
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
