import { JsonSocket, ServerTCP, type TcpOptions } from '@nestjs/microservices';
import { problem } from '../shared/http/problem';

type Socket = Parameters<ServerTCP['handleMessage']>[0];

/**
 * The log line of a message refused before any handler saw it (the handlers' log hooks never do): the transport,
 * whether it asked for a reply, the status and code. No payload, as for every message.
 */
export const refusedBeforeHandler = (logger: { warn(message: string): void }, transport: 'tcp' | 'nats', id: unknown, status: number, code: string): void =>
  logger.warn(`${transport} message refused before a handler: ${status} ${code}${typeof id === 'string' ? '' : ' (an event: no reply)'}`);

/** The refusal of a message (its whole JSON, envelope included) larger than the body limit, over TCP and NATS (as over HTTP: 413). */
export const tooLarge = (bodyLimit: number) => problem(413, 'PAYLOAD_TOO_LARGE', `The message is too large: at most ${bodyLimit} bytes of JSON.`);

/** What a message larger than the body limit becomes: its id, to answer 413, and nothing of its data. */
const OVERSIZED = Symbol('oversized message');
interface Oversized {
  id?: unknown;
  [OVERSIZED]: number;
}

/**
 * A frame over this many times the body limit closes the connection without a reply (Nest's `maxBufferSize`, in
 * characters): it is not buffered whole, nor parsed, to find an id to answer. Between the limit and this, the message
 * is parsed for its id alone and answered 413. Never more than Nest's own default (128 Mi characters).
 */
const FRAME_LIMIT_FACTOR = 16;
const NEST_MAX_BUFFER = (512 * 1024 * 1024) / 4;

/**
 * Nest's framing, with the HTTP body limit: a message whose JSON is longer than `limit` bytes is not handed to a
 * handler; it reaches the server as its id, to be answered `413 PAYLOAD_TOO_LARGE` as over HTTP.
 */
class LimitedJsonSocket extends JsonSocket {
  private readonly maxFrame: number;

  constructor(socket: ConstructorParameters<typeof JsonSocket>[0], private readonly limit: number) {
    const maxFrame = Math.min(limit * FRAME_LIMIT_FACTOR, NEST_MAX_BUFFER);
    super(socket, { maxBufferSize: maxFrame });
    this.maxFrame = maxFrame;
  }

  /**
   * A frame whose header declares more than the largest frame is refused at its header: the connection is closed
   * (destroyed) at once, not held until the rest arrives or Nest's 30 s idle timer ends it (probe 89 F9: `10000000#`
   * and nothing more kept the connection for 30 s). Nest reads the header into its private `contentLength`.
   */
  protected override handleData(dataRaw: Buffer | string): void {
    super.handleData(dataRaw);
    const framing = this as unknown as { contentLength: number | null; buffer: string };
    if (framing.contentLength !== null && framing.contentLength > this.maxFrame) {
      const declared = framing.contentLength;
      framing.contentLength = null;
      framing.buffer = '';
      this.handleDataError(new Error(`a frame of ${declared} characters declared, over the largest of ${this.maxFrame}`), { destroy: true });
    }
  }

  protected override emitMessage(data: string): void {
    // a string's length counts UTF-16 units, each at most 3 bytes of UTF-8: only a long one needs counting
    const bytes = data.length * 3 > this.limit ? Buffer.byteLength(data, 'utf8') : 0;
    if (bytes > this.limit) {
      let id: unknown;
      try {
        id = (JSON.parse(data) as { id?: unknown } | null)?.id;
      } catch {
        // not JSON: Nest's own refusal (the connection is closed; there is no id to answer)
        return super.emitMessage(data);
      }
      const oversized: Oversized = { id, [OVERSIZED]: bytes };
      this.socket.emit('message', oversized);
      return;
    }
    super.emitMessage(data);
  }
}

/**
 * Nest's TCP transport, with refusals made like the others: a request for a pattern no handler serves gets a problem
 * object (`404 UNKNOWN_PATTERN`) instead of Nest's bare sentence, and one larger than the body limit gets `413
 * PAYLOAD_TOO_LARGE` as over HTTP, so that a client handles every refusal the same way (docs/api.md, message patterns).
 * Everything else is Nest's ServerTCP.
 */
export class ProblemTcpServer extends ServerTCP {
  private readonly bodyLimit: number;

  constructor(options: Required<TcpOptions>['options'] & { bodyLimit: number }) {
    const { bodyLimit, ...tcp } = options;
    super(tcp);
    this.bodyLimit = bodyLimit;
  }

  protected override getSocketInstance(socket: ConstructorParameters<typeof JsonSocket>[0]): JsonSocket {
    return new LimitedJsonSocket(socket, this.bodyLimit);
  }

  override async handleMessage(socket: Socket, rawMessage: unknown): Promise<unknown> {
    if (rawMessage !== null && typeof rawMessage === 'object' && OVERSIZED in rawMessage) {
      const { id } = rawMessage as Oversized;
      refusedBeforeHandler(this.logger, 'tcp', id, 413, 'PAYLOAD_TOO_LARGE');
      // an event (no id: no reply expected) is dropped, as a handler's refusal of it would be; Nest's ids are strings
      if (typeof id !== 'string') return undefined;
      return this.reply(socket, id, tooLarge(this.bodyLimit));
    }
    const packet = (await this.deserializer.deserialize(rawMessage)) as { id?: string; pattern?: unknown };
    if (packet.id !== undefined) {
      const pattern = this.getPatternAsString(packet.pattern as string);
      if (!this.getHandlerByPattern(pattern)) {
        // logged as every refusal is, without the pattern asked for (a client's text: probe 37 F7 scanned for patterns
        // and left no trace)
        refusedBeforeHandler(this.logger, 'tcp', packet.id, 404, 'UNKNOWN_PATTERN');
        return this.reply(
          socket,
          packet.id,
          problem(404, 'UNKNOWN_PATTERN', `There is no message pattern ${JSON.stringify(String(pattern).slice(0, 100))}; the patterns are listed at /docs/asyncapi.json.`),
        );
      }
    }
    return super.handleMessage(socket, rawMessage);
  }

  /**
   * A client's frame that cannot be read (not JSON, a corrupt length): Nest closes the connection and logged an error
   * with a stack for each, so any local client could fill the error log (probe 30). It is the client's fault: one
   * warning line, without the frame. Other errors are Nest's.
   */
  // (Nest types it a string; ServerTCP hands it an InvalidTcpDataReceptionException)
  protected override handleError(error: string): void {
    const thrown = error as unknown;
    if (thrown instanceof Error && thrown.constructor.name === 'InvalidTcpDataReceptionException') {
      this.logger.warn('tcp frame refused (not a message: malformed JSON or length); the connection is closed');
      return;
    }
    super.handleError(error);
  }

  /** a refusal as Nest's own error replies are: `isDisposed`, the end of the answer, which a raw client waits for */
  private reply(socket: Socket, id: string, err: object): void {
    socket.sendMessage(this.serializer.serialize({ id, status: 'error', err, isDisposed: true }));
  }
}
