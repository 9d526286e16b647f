import { NatsContext, type NatsOptions, ServerNats } from '@nestjs/microservices';
import { refusedBeforeHandler, tooLarge } from './problem-tcp-server';

/** The fields of a NATS message this reads (Nest types it `any`). */
interface NatsMessage {
  subject: string;
  data: Uint8Array;
  reply?: string;
  headers?: unknown;
}

/**
 * Nest's NATS transport with the HTTP body limit, as over TCP (problem-tcp-server.ts): a request whose payload is
 * longer than `bodyLimit` bytes is answered `413 PAYLOAD_TOO_LARGE` and reaches no handler. (The NATS server's own
 * `max_payload`, 1 MB by default, refuses larger ones before they arrive.)
 */
export class ProblemNatsServer extends ServerNats {
  private readonly bodyLimit: number;

  constructor(options: Required<NatsOptions>['options'] & { bodyLimit: number }) {
    const { bodyLimit, ...nats } = options;
    super(nats);
    this.bodyLimit = bodyLimit;
  }

  override async handleMessage(channel: string, natsMsg: NatsMessage): Promise<unknown> {
    if (natsMsg.data.length <= this.bodyLimit) return super.handleMessage(channel, natsMsg);
    // an event (no reply subject, or no id) is dropped, as a handler's refusal of it would be
    const id = natsMsg.reply ? ((await this.deserializer.deserialize(natsMsg, { channel, replyTo: natsMsg.reply })) as { id?: unknown }).id : undefined;
    refusedBeforeHandler(this.logger, 'nats', id, 413, 'PAYLOAD_TOO_LARGE');
    if (typeof id !== 'string') return undefined;
    const publish = this.getPublisher(natsMsg, id, new NatsContext([natsMsg.subject, natsMsg.headers]));
    // as Nest's own error replies: `isDisposed` ends the answer
    return publish({ status: 'error', err: tooLarge(this.bodyLimit), isDisposed: true });
  }
}
