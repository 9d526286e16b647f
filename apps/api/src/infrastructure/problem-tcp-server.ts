import { ServerTCP } from '@nestjs/microservices';
import { problem } from '../shared/problem';

type JsonSocket = Parameters<ServerTCP['handleMessage']>[0];

/**
 * Nest's TCP transport, with one refusal made like the others: a request for a pattern no handler serves gets a
 * problem object (`404 UNKNOWN_PATTERN`) instead of Nest's bare sentence, so that a client handles every refusal
 * the same way (README, message patterns). Everything else is Nest's ServerTCP.
 */
export class ProblemTcpServer extends ServerTCP {
  override async handleMessage(socket: JsonSocket, rawMessage: unknown): Promise<unknown> {
    const packet = (await this.deserializer.deserialize(rawMessage)) as { id?: string; pattern?: unknown };
    if (packet.id !== undefined) {
      const pattern = this.getPatternAsString(packet.pattern as string);
      if (!this.getHandlerByPattern(pattern))
        return socket.sendMessage(
          this.serializer.serialize({
            id: packet.id,
            status: 'error',
            err: problem(404, 'UNKNOWN_PATTERN', `There is no message pattern ${JSON.stringify(String(pattern).slice(0, 100))}; the patterns are listed at /docs/asyncapi.json.`),
          }),
        );
    }
    return super.handleMessage(socket, rawMessage);
  }
}
