import { hash } from 'node:crypto';

/**
 * Namespace of Rollcall's event ids (a fixed, randomly generated UUID). Changing it changes every
 * derived id, which would break idempotent retries across a deploy: never change it.
 */
export const EVENT_ID_NAMESPACE = '6f3c1d2e-8a47-4b5e-9c1f-2d7a3e5b9f04';

/**
 * The id of the `index`-th event produced by the command carrying `idempotencyKey`: a name-based
 * UUID (RFC 9562 version 5, SHA-1) of `${idempotencyKey}:${index}` in EVENT_ID_NAMESPACE.
 * A retried command produces the same ids, so the store can recognise the retry and write nothing.
 */
export function eventIdFor(idempotencyKey: string, index: number): string {
  if (idempotencyKey.length === 0) throw new RangeError('eventIdFor: idempotencyKey must not be empty');
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`eventIdFor: index must be a non-negative integer, got ${index}`);
  }
  return uuidV5(EVENT_ID_NAMESPACE, `${idempotencyKey}:${index}`);
}

/** namespaces' 16 bytes, parsed once: a command derives a few ids from the same one or two namespaces */
const namespaceBytes = new Map<string, Buffer>();

/** RFC 9562 name-based UUID, version 5: SHA-1 of the namespace's 16 bytes followed by the UTF-8 name. */
export function uuidV5(namespace: string, name: string): string {
  let ns = namespaceBytes.get(namespace);
  if (!ns) {
    ns = Buffer.from(namespace.replaceAll('-', ''), 'hex');
    if (ns.length !== 16) throw new RangeError(`uuidV5: invalid namespace UUID ${namespace}`);
    if (namespaceBytes.size < 64) namespaceBytes.set(namespace, ns);
  }
  // the one-shot hash: cheaper than a Hash object per id (bench:http derives a few per command)
  const bytes = hash('sha1', Buffer.concat([ns, Buffer.from(name, 'utf8')]), 'buffer').subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
