import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { type TestApp, startTestApp } from './app';

export interface TcpTestApp {
  app: TestApp;
  /** sends a message pattern to the app over TCP and waits for its answer */
  send<T = any>(pattern: string, data: object): Promise<T>;
  stop(): Promise<void>;
}

/**
 * The app, a TCP client of its message patterns, and `listenerModule` as a real Nest TCP microservice receiving the
 * app's integration events (ROLLCALL_EVENTS_TCP_TARGET): a stand-in for a service downstream.
 */
export async function startAppOverTcp(listenerModule: Type<unknown>, env: Record<string, string> = {}): Promise<TcpTestApp> {
  const listener = await NestFactory.createMicroservice(listenerModule, { transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 }, logger: false });
  await listener.listen();
  const port = listener.unwrap<{ address(): { port: number } }>().address().port;
  const app = await startTestApp({ ROLLCALL_EVENTS_TCP_TARGET: `127.0.0.1:${port}`, ...env });
  const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: app.tcpPort } });
  await client.connect();
  return {
    app,
    send: <T>(pattern: string, data: object) => lastValueFrom(client.send<T>(pattern, data)),
    stop: async () => {
      await client.close();
      await app.stop();
      await listener.close();
    },
  };
}

/** A module with no handlers: for tests that talk to the app's message patterns and need no downstream listener. */
@Module({})
export class NoListener {}

/** The app and a TCP client of its message patterns, started before the file's tests and stopped after them. */
export function appOverTcpForEachFile(): { readonly running: TcpTestApp } {
  const holder = {} as { running: TcpTestApp };
  beforeAll(async () => {
    holder.running = await startAppOverTcp(NoListener);
  });
  afterAll(() => holder.running.stop());
  return holder;
}
