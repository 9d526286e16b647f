// The floor for bench:http's command throughput: a bare NestJS endpoint on the API's HTTP stack (Fastify through
// @nestjs/platform-fastify, its JSON body parser; no guard, no validation, no decider, no encryption) that does one
// durable append per request to the embedded event store (ids as the API draws them: newEventId), with
// the store configured as the API's (synchronous=FULL: every group commit fsyncs the WAL; the WAL copied back and the
// group commit run by threads of their own, unless BARE_APPEND_WRITER=inline). bench:http runs it on the same machine
// in the same run and reports commandsPerSec / bareAppendPerSec.
//
// Run by lib/bare-append.ts as a child: BARE_APPEND_DATA_DIR=<dir> node -r ./tools/register.cjs bench/lib/bare-append-server.ts
// POST /append {stream, type, data, metadata} → 201 {position}. It prints `Bare append on http://127.0.0.1:<port>`.
import { join } from 'node:path';
import { Body, Controller, HttpCode, Inject, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type EventStore, SqliteEventStore, newEventId } from '@rollcall/event-store';

const STORE = Symbol('Store');

interface AppendBody {
  stream: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

@Controller()
class BareAppendController {
  constructor(@Inject(STORE) private readonly store: EventStore) {}

  @Post('append')
  @HttpCode(201)
  async append(@Body() body: AppendBody) {
    const { position } = await this.store.append(body.stream, [{ id: newEventId(), type: body.type, data: body.data, metadata: body.metadata }], 'any');
    return { position: position.toString() };
  }
}

@Module({
  controllers: [BareAppendController],
  providers: [
    {
      provide: STORE,
      useFactory: () =>
        new SqliteEventStore(join(process.env.BARE_APPEND_DATA_DIR!, 'events.sqlite'), {
          durability: 'full',
          checkpoints: 'thread',
          writer: process.env.BARE_APPEND_WRITER === 'inline' ? 'inline' : 'thread',
        }),
    },
  ],
})
class BareAppendModule {}

async function main() {
  const app = await NestFactory.create<NestFastifyApplication>(BareAppendModule, new FastifyAdapter({ logger: false }), { logger: false });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  console.log(`Bare append on ${await app.getUrl()}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
