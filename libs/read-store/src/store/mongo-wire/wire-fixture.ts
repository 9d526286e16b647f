/**
 * WIRE FIXTURE — NOT A MONGODB SERVER. A test fixture that speaks the MongoDB wire protocol on a loopback TCP
 * port, so that the real driver (`mongodb`, with its own `bson`) connects to it, sends its commands, and parses
 * the replies the test scripted. It evaluates nothing: no query, no index, no storage. It answers the handshake
 * itself (the documented `hello`/`isMaster` reply of a standalone server), `ping` and `endSessions` with
 * `{ ok: 1 }`, and hands every other command to the test's responder; a command the responder does not answer
 * gets MongoDB's `CommandNotFound` reply, so an unexpected command fails the test instead of passing unseen.
 *
 * What it pins: the commands exactly as the driver puts them on the wire (OP_MSG body plus its document
 * sequences, decoded with `promoteLongs: false` so an Int64 stays a `Long`). What it cannot show: what a server
 * would do with them. The replies are written by the tests from MongoDB's documented formats
 * (see `replies.ts`).
 *
 * Protocol (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/): every message starts with
 * the header `int32 messageLength, int32 requestID, int32 responseTo, int32 opCode`. The driver's first message
 * on a connection is an OP_QUERY (2004) `isMaster` on `admin.$cmd` (it cannot know yet that the peer speaks
 * OP_MSG), answered with an OP_REPLY (1); everything after is OP_MSG (2013): `uint32 flagBits`, then sections,
 * kind 0 (one BSON document: the command) and kind 1 (`int32 size, cstring identifier, BSON documents`: a
 * document sequence, e.g. the `updates` of an `update` command).
 */
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { BSON, type Document, Double } from 'mongodb';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;
const HEADER_SIZE = 16;

/** a command as the fixture received it */
export interface WireCommand {
  /** the command's name: the first key of the body (`update`, `find`, `insert`, ...) */
  name: string;
  /** `$db` */
  db: string;
  /** the body with each document sequence put back as an array field (`updates: [...]`) */
  body: Document;
  /** the document sequences' identifiers, in order (how the driver sent them: `['updates']`) */
  sequences: string[];
}

/** the reply to a command; undefined: not handled (CommandNotFound); a promise that never settles: no reply */
export type Responder = (command: WireCommand) => Document | undefined | Promise<Document | undefined>;

export interface WireFixtureOptions {
  /** accept connections but never answer anything, not even the handshake (an unreachable server) */
  silent?: boolean;
  /** wire version announced in the handshake (default 21: MongoDB 7.0) */
  maxWireVersion?: number;
  /** announce the primary of this replica set (`setName` in `hello`) instead of a standalone server */
  replicaSet?: string;
  /** listen on this port (a server back where it was); default: any free one */
  port?: number;
}

const HANDSHAKE = new Set(['hello', 'ismaster', 'isMaster']);

export class MongoWireFixture {
  /** every command received, handshakes excepted, in arrival order */
  readonly commands: WireCommand[] = [];
  /** what went wrong on the fixture's side (a message it cannot decode, a responder that threw): the connection was closed */
  readonly errors: unknown[] = [];
  private readonly sockets = new Set<Socket>();
  private connectionIds = 0;

  private constructor(
    private readonly server: Server,
    private readonly respond: Responder,
    private readonly options: WireFixtureOptions,
  ) {}

  static async start(respond: Responder, options: WireFixtureOptions = {}): Promise<MongoWireFixture> {
    const server = createServer();
    const fixture = new MongoWireFixture(server, respond, options);
    server.on('connection', (socket) => fixture.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return fixture;
  }

  /** a connection string for the driver: one standalone host, no discovery */
  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `mongodb://127.0.0.1:${port}/?directConnection=true`;
  }

  /** the commands received with this name */
  sent(name: string): WireCommand[] {
    return this.commands.filter((command) => command.name === name);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const connectionId = ++this.connectionIds;
    let pending = Buffer.alloc(0);
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        if (pending.readInt32LE(0) < HEADER_SIZE) return void socket.destroy(); // not a message: no endless loop
        const message = pending.subarray(0, pending.readInt32LE(0));
        pending = pending.subarray(message.length);
        if (this.options.silent) continue;
        // one message at a time per connection, in order (the driver does not pipeline on a connection)
        queue = queue
          .then(() => this.handle(socket, message, connectionId))
          .catch((error: unknown) => {
            this.errors.push(error);
            socket.destroy();
          });
      }
    });
  }

  private async handle(socket: Socket, message: Buffer, connectionId: number): Promise<void> {
    const requestId = message.readInt32LE(4);
    const opCode = message.readInt32LE(12);
    if (opCode === OP_QUERY) {
      const { query } = decodeOpQuery(message);
      const name = Object.keys(query)[0] ?? '';
      if (!HANDSHAKE.has(name)) throw new Error(`wire fixture: unexpected OP_QUERY ${name}`);
      socket.write(encodeOpReply(requestId, this.hello(connectionId)));
      return;
    }
    if (opCode !== OP_MSG) throw new Error(`wire fixture: unsupported opCode ${opCode}`);
    const { flags, command } = decodeOpMsg(message);
    let reply: Document | undefined;
    if (HANDSHAKE.has(command.name)) reply = this.hello(connectionId);
    else {
      this.commands.push(command);
      reply = await this.respond(command);
      if (reply === undefined && (command.name === 'ping' || command.name === 'endSessions'))
        reply = { ok: 1 };
      reply ??= {
        ok: 0,
        errmsg: `no such command: '${command.name}'`,
        code: 59,
        codeName: 'CommandNotFound',
      };
    }
    if ((flags & MORE_TO_COME) === 0) socket.write(encodeOpMsg(requestId, reply));
  }

  /**
   * the documented `hello` reply of a writable standalone server (no replica set, no topologyVersion), or with
   * `replicaSet` of the writable primary of a one-member replica set (`setName`, `hosts`, `primary`, `me`)
   */
  private hello(connectionId: number): Document {
    const { port } = this.server.address() as AddressInfo;
    const member = `127.0.0.1:${port}`;
    return {
      ...(this.options.replicaSet !== undefined && { setName: this.options.replicaSet, setVersion: 1, hosts: [member], primary: member, me: member }),
      helloOk: true,
      ismaster: true,
      isWritablePrimary: true,
      maxBsonObjectSize: 16 * 1024 * 1024,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId,
      minWireVersion: 0,
      maxWireVersion: this.options.maxWireVersion ?? 21,
      readOnly: false,
      ok: 1,
    };
  }
}

// --- encoding and decoding ---------------------------------------------------------------------------------

const DECODE = { promoteLongs: false } as const;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const buffer = Buffer.alloc(HEADER_SIZE);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(0, 4); // requestID: the driver does not look at a reply's own id
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

/** `ok` as MongoDB sends it: a double */
function serializeReply(reply: Document): Buffer {
  const ok = typeof reply.ok === 'number' ? new Double(reply.ok) : reply.ok;
  return Buffer.from(BSON.serialize({ ...reply, ok }));
}

function readCString(buffer: Buffer, offset: number): { value: string; next: number } {
  const end = buffer.indexOf(0, offset);
  if (end < 0) throw new Error('wire fixture: unterminated cstring');
  return { value: buffer.toString('utf8', offset, end), next: end + 1 };
}

/** OP_QUERY: int32 flags, cstring fullCollectionName, int32 numberToSkip, int32 numberToReturn, document query */
export function decodeOpQuery(message: Buffer): { collection: string; query: Document } {
  const { value: collection, next } = readCString(message, HEADER_SIZE + 4);
  const at = next + 8;
  const size = message.readInt32LE(at);
  return { collection, query: BSON.deserialize(message.subarray(at, at + size), DECODE) };
}

/** OP_REPLY: int32 responseFlags, int64 cursorID, int32 startingFrom, int32 numberReturned, documents */
export function encodeOpReply(responseTo: number, reply: Document): Buffer {
  const document = serializeReply(reply);
  const body = Buffer.alloc(20);
  body.writeInt32LE(1, 16); // numberReturned
  const length = HEADER_SIZE + body.length + document.length;
  return Buffer.concat([header(length, responseTo, OP_REPLY), body, document]);
}

/** OP_MSG: uint32 flagBits, kind 0 section (the body), kind 1 sections (document sequences), checksum if flagged */
export function decodeOpMsg(message: Buffer): { flags: number; command: WireCommand } {
  const flags = message.readUInt32LE(HEADER_SIZE);
  const end = message.length - ((flags & CHECKSUM_PRESENT) !== 0 ? 4 : 0);
  let at = HEADER_SIZE + 4;
  let body: Document | undefined;
  const sequences: [string, Document[]][] = [];
  while (at < end) {
    const kind = message[at++];
    if (kind === 0) {
      const size = message.readInt32LE(at);
      body = BSON.deserialize(message.subarray(at, at + size), DECODE);
      at += size;
    } else if (kind === 1) {
      const sectionEnd = at + message.readInt32LE(at);
      const { value: identifier, next } = readCString(message, at + 4);
      const documents: Document[] = [];
      for (let offset = next; offset < sectionEnd;) {
        const size = message.readInt32LE(offset);
        documents.push(BSON.deserialize(message.subarray(offset, offset + size), DECODE));
        offset += size;
      }
      sequences.push([identifier, documents]);
      at = sectionEnd;
    } else {
      throw new Error(`wire fixture: unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new Error('wire fixture: OP_MSG without a body section');
  const merged: Document = { ...body };
  for (const [identifier, documents] of sequences) merged[identifier] = documents;
  const command: WireCommand = {
    name: Object.keys(body)[0] ?? '',
    db: String(body.$db),
    body: merged,
    sequences: sequences.map(([identifier]) => identifier),
  };
  return { flags, command };
}

export function encodeOpMsg(responseTo: number, reply: Document): Buffer {
  const document = serializeReply(reply);
  const flagsAndKind = Buffer.alloc(5); // flagBits 0, section kind 0
  const length = HEADER_SIZE + flagsAndKind.length + document.length;
  return Buffer.concat([header(length, responseTo, OP_MSG), flagsAndKind, document]);
}
