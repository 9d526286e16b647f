import { randomUUID } from 'node:crypto';
import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { NatsContext, type NatsOptions, ServerNats } from '@nestjs/microservices';
import { type Observable, map } from 'rxjs';
import { ProblemException, problem } from '../shared/http/problem';
import { refusedBeforeHandler, tooLarge } from './problem-tcp-server';

/** a first connection NATS did not take (nothing listens, a reset, a timeout): tried again; a refused login is not */
const isConnectionRefused = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'ConnectionError' || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND/.test(`${error.message} ${String(error.cause)}`));

/** the server closed (the process stopping) while its first connection was still being tried */
export class NatsClosedBeforeConnected extends Error {
  constructor() {
    super('closed before NATS answered');
  }
}

/** The fields of a NATS message this reads (Nest types it `any`). */
interface NatsMessage {
  subject: string;
  data: Uint8Array;
  reply?: string;
  headers?: unknown;
  respond(data?: Uint8Array, options?: { headers?: unknown }): boolean;
}

/** What Nest's deserializer makes of a message: its own envelope, or an external payload as `data`. */
interface Packet {
  id?: unknown;
  data?: unknown;
}

/**
 * Nest's NATS transport, with the answers a NATS requester expects (a message with a reply subject is a request and
 * always gets a reply, as over HTTP every request gets a status):
 * - a request whose payload is longer than `bodyLimit` bytes is answered `413 PAYLOAD_TOO_LARGE` and reaches no
 *   handler, as over TCP (problem-tcp-server.ts). (The NATS server's own `max_payload`, 1 MB by default, refuses larger
 *   ones before they arrive.)
 * - a request whose payload is not JSON is answered `400 MALFORMED_JSON` (Nest logged an error and left the requester
 *   waiting for its timeout);
 * - a request without Nest's `id` (a plain NATS client's `request`, its payload the pattern's message) is run as a
 *   request under an id of its own and answered, as a Nest client's is (Nest ran it as an event: the command was
 *   applied and the requester never learnt it).
 * - an answer larger than the NATS server's `max_payload` is `422 ANSWER_TOO_LARGE` (getPublisher).
 * A message without a reply subject (a Nest client's `emit`) stays an event: run, never answered.
 * And NATS down at start does not fail the start (probe 41 F5: exit 1 with a stack): the first connection is tried
 * every second until NATS answers or the server closes (createNatsClient); `listen` resolves then.
 */
export class ProblemNatsServer extends ServerNats {
  private readonly bodyLimit: number;

  constructor(options: Required<NatsOptions>['options'] & { bodyLimit: number }) {
    const { bodyLimit, ...nats } = options;
    super(nats);
    this.bodyLimit = bodyLimit;
  }

  /** set by close: a first connection still being tried gives up */
  private closed = false;

  override async createNatsClient(): Promise<Awaited<ReturnType<ServerNats['createNatsClient']>>> {
    for (;;) {
      try {
        return await super.createNatsClient();
      } catch (error) {
        if (!isConnectionRefused(error)) throw error;
        if (this.closed) throw new NatsClosedBeforeConnected();
        await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
        if (this.closed) throw new NatsClosedBeforeConnected();
      }
    }
  }

  override async close(): Promise<void> {
    this.closed = true;
    await super.close();
  }

  override async handleMessage(channel: string, natsMsg: NatsMessage): Promise<unknown> {
    if (!natsMsg.reply) {
      // an event: dropped when too large, as a handler's refusal of it would be
      if (natsMsg.data.length <= this.bodyLimit) return super.handleMessage(channel, natsMsg);
      return refusedBeforeHandler(this.logger, 'nats', undefined, 413, 'PAYLOAD_TOO_LARGE');
    }
    const context = new NatsContext([natsMsg.subject, natsMsg.headers]);
    // Nest's deserializer: its envelope, or an external payload as `data`; it throws on a payload that is not JSON
    let packet: Packet | undefined;
    try {
      packet = (await this.deserializer.deserialize(natsMsg, { channel, replyTo: natsMsg.reply })) as Packet;
    } catch {
      packet = undefined;
    }
    // the size first, as over HTTP (a payload too large is refused before it is read)
    if (natsMsg.data.length > this.bodyLimit) {
      refusedBeforeHandler(this.logger, 'nats', '', 413, 'PAYLOAD_TOO_LARGE');
      return this.publisher(natsMsg, packet?.id, context)(refusal(tooLarge(this.bodyLimit)));
    }
    if (!packet) {
      refusedBeforeHandler(this.logger, 'nats', '', 400, 'MALFORMED_JSON');
      return this.publisher(natsMsg, undefined, context)(refusal(problem(400, 'MALFORMED_JSON', "The message is not valid JSON; send the pattern's message as JSON encoded as UTF-8.")));
    }
    const publish = this.publisher(natsMsg, packet.id ?? randomUUID(), context);
    // NATS delivers only the subjects of the patterns this serves: there is always a handler
    const handler = this.getHandlerByPattern(channel)!;
    const { data } = packet;
    return this.handleRequest(context, async () => this.transformToObservable(await handler(data, context)), publish);
  }

  /** Nest's publisher of replies, which types the id as a string: it echoes the request's as it came, none for a message it could not read */
  private publisher(natsMsg: NatsMessage, id: unknown, context: NatsContext) {
    return this.getPublisher(natsMsg, id as string, context);
  }

  /**
   * Nest's publisher, with an answer for a reply the NATS server would not carry: one larger than its `max_payload`
   * (1 MiB by default; the invite lookup of a team of ~5,000 members) was dropped with an error in the log, and the
   * requester learnt nothing but its timeout, every time it asked again (probe 30 F2). It is answered
   * `422 ANSWER_TOO_LARGE` instead: the same request is served over HTTP and TCP, which have no such limit.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Nest's signature
  override getPublisher(natsMsg: NatsMessage, id: string, context: NatsContext): (response: any) => any {
    const publish = super.getPublisher(natsMsg, id, context) as (response: object) => void;
    if (!natsMsg.reply) return publish;
    return (response: object) => {
      try {
        return publish(response);
      } catch (error) {
        const max = this.maxPayload();
        if (max === undefined || !String((error as Error).message).includes('max_payload')) throw error;
        this.logger.warn(`NATS reply of ${natsMsg.subject} larger than max_payload (${max} bytes): answered 422 ANSWER_TOO_LARGE`);
        return publish(refusal(answerTooLarge(max)));
      }
    };
  }

  /** the connected NATS server's `max_payload`, in bytes */
  maxPayload(): number | undefined {
    // (Nest keeps the connection private)
    return (this as unknown as { natsClient?: { info?: { max_payload?: number } } | null }).natsClient?.info?.max_payload;
  }
}

/** This app's NATS transport, once bootstrap.ts made one (none without NATS_URL): for NatsAnswerLimit. */
@Injectable()
export class NatsTransport {
  server?: ProblemNatsServer;
}

/**
 * Over NATS, an answer larger than the server's `max_payload` is refused inside the message's pipeline, as
 * `422 ANSWER_TOO_LARGE`: the message's log line (nestjs-pino's hook, around the pipeline: logging-messages.ts) then
 * says 422, where the publisher's refusal came after it had logged `status: 200` (probe 30b F1). The publisher's
 * (getPublisher) stays, for an answer within ENVELOPE_BYTES of the limit. On every message pattern
 * (shared/http/message-route.ts), never on an HTTP route (docs/adr/0010, nineteenth pass): anything but a NATS message
 * passes untouched.
 */
@Injectable()
export class NatsAnswerLimit implements NestInterceptor {
  constructor(@Inject(NatsTransport) private readonly transport: NatsTransport) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const server = this.transport.server;
    if (!server || context.getType() !== 'rpc' || !(context.switchToRpc().getContext() instanceof NatsContext)) return next.handle();
    return next.handle().pipe(
      map((answer: unknown) => {
        const max = server.maxPayload();
        if (max !== undefined && Buffer.byteLength(JSON.stringify(answer) ?? '') + ENVELOPE_BYTES > max) throw new ProblemException(answerTooLarge(max));
        return answer;
      }),
    );
  }
}

/** what Nest's reply adds around an answer (`{"response":…,"isDisposed":true,"id":"…"}`) */
const ENVELOPE_BYTES = 128;

const answerTooLarge = (max: number) =>
  problem(
    422,
    'ANSWER_TOO_LARGE',
    `The answer is larger than this NATS server's max_payload (${max} bytes): make the same request over HTTP or TCP, or raise max_payload.`,
  );

/** an error reply as Nest's own: `isDisposed` ends the answer */
const refusal = (err: object) => ({ status: 'error', err, isDisposed: true });
