import type { AllStreamResolvedEvent, Filter, JSONType, Position, ReadPosition, ResolvedEvent } from '@kurrent/kurrentdb-client';
import { kurrentDriver } from '../drivers/lazy-drivers';
import type { NewEvent, ReadAllOptions, RecordedEvent } from '../port';

type EventFilter = ReadAllOptions['filter'];

/**
 * Metadata through `multiStreamAppend` and `appendRecords`: the client accepts only a plain object of STRING values
 * (the v2 protocol sends them as record properties), and the server stores them as the event's JSON metadata. So a non-string
 * value is sent JSON-encoded, and this property lists the keys that were, for `decodeMetadata` to turn them back:
 * a reader sees `{ schemaVersion: 2 }` whether the event came through `append` or `appendMany`. (A string value
 * that merely looks like JSON, e.g. `"2"`, is not listed and stays a string.) Every event written by appendMany
 * carries the property (`[]` when nothing was encoded): it also tells `decodeMetadata` to drop the properties
 * the server added to such records, and only to those.
 */
export const JSON_KEYS_PROPERTY = '$rollcall.jsonKeys';
/** properties KurrentDB adds to the metadata of every record written through the v2 append (multiStreamAppend) */
const SERVER_PROPERTIES = ['$schema.data-format', '$schema.name'];

/** @internal our metadata as the string-valued object multiStreamAppend accepts (exported for unit tests) */
export function encodeMetadata(metadata: Record<string, unknown> | undefined): Record<string, string> {
  const encoded: Record<string, string> = {};
  const jsonKeys: string[] = [];
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (value === undefined) continue; // as JSON.stringify does for `append`
    if (typeof value === 'string') {
      encoded[key] = value;
    } else {
      encoded[key] = JSON.stringify(value);
      jsonKeys.push(key);
    }
  }
  encoded[JSON_KEYS_PROPERTY] = JSON.stringify(jsonKeys);
  return encoded;
}

/** @internal an event's stored metadata as the port hands it out: the inverse of encodeMetadata (exported for unit tests) */
export function decodeMetadata(raw: unknown): Record<string, unknown> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) return {};
  const metadata: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  const listed = metadata[JSON_KEYS_PROPERTY];
  if (typeof listed !== 'string') return metadata; // written by `append`: stored as we gave it
  delete metadata[JSON_KEYS_PROPERTY];
  for (const key of SERVER_PROPERTIES) delete metadata[key];
  const keys = parseJson<unknown>(listed, []);
  for (const key of Array.isArray(keys) ? keys : []) {
    if (typeof key !== 'string') continue;
    const value = metadata[key];
    if (typeof value === 'string') metadata[key] = parseJson(value, value);
  }
  return metadata;
}

/** a malformed value is handed out as stored rather than failing the read */
function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** @internal exported for unit tests */
export function toReadPosition(position: bigint | undefined): ReadPosition {
  if (position === undefined || position < 0n) return kurrentDriver().START;
  const p: Position = { commit: position, prepare: position };
  return p;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** @internal the part of the port's filter the server can apply (exported for unit tests) */
export function serverFilter(filter: EventFilter): Filter {
  const { eventTypeFilter, excludeSystemEvents, streamNameFilter } = kurrentDriver();
  if (filter?.streamPrefixes?.length) return streamNameFilter({ prefixes: filter.streamPrefixes });
  if (filter?.eventTypes?.length) {
    return eventTypeFilter({ regex: `^(?:${filter.eventTypes.map(escapeRegex).join('|')})$` });
  }
  return excludeSystemEvents();
}

/** @internal the port's filter, exactly (exported for unit tests) */
export function matches(event: RecordedEvent, filter: EventFilter): boolean {
  if (event.type.startsWith('$')) return false;
  if (filter?.eventTypes?.length && !filter.eventTypes.includes(event.type)) return false;
  if (
    filter?.streamPrefixes?.length &&
    !filter.streamPrefixes.some((prefix) => event.stream.startsWith(prefix))
  ) {
    return false;
  }
  return true;
}

/** a port event as the client's JSON event, under its own id (the server's idempotency goes by it), with `metadata` */
export function toEventData(e: NewEvent, metadata: Record<string, unknown>) {
  return kurrentDriver().jsonEvent({
    id: e.id,
    type: e.type,
    data: (e.data ?? null) as JSONType,
    metadata: metadata as JSONType,
  });
}

export function commitPositionOf(resolved: ResolvedEvent | AllStreamResolvedEvent): bigint | undefined {
  return resolved.commitPosition ?? resolved.event?.position?.commit;
}

export function toRecorded(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event;
  if (!event) return undefined;
  const position = commitPositionOf(resolved);
  if (position === undefined)
    throw new Error(`KurrentDB returned ${event.streamId}@${event.revision} without a position`);
  return {
    id: event.id,
    stream: event.streamId,
    type: event.type,
    revision: event.revision,
    position,
    data: event.isJson ? event.data : Buffer.from(event.data as Uint8Array),
    metadata: decodeMetadata(event.metadata),
    created: event.created,
  };
}
