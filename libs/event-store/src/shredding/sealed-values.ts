import { type KeyObject, createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';
import { randomIv } from './random-pool';

/**
 * Personal values as events store them (docs/adr/0003): `enc:v1:<subject>:<AES-256-GCM of the JSON>`, and the paths
 * to them in an event's data. Used by PersonalDataEventStore, which seals and opens them.
 */
export const PREFIX = 'enc:v1:';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

export const getPath = (data: Obj, path: string[]): unknown => path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Obj)[k] : undefined), data);
export const setPath = (data: Obj, path: string[], value: unknown): void => {
  const parent = path.slice(0, -1).reduce<Obj | undefined>((o, k) => (o && typeof o[k] === 'object' ? o[k] : undefined), data);
  if (parent && path.at(-1)! in parent) parent[path.at(-1)!] = value;
};

/**
 * The personal fields of an event read through the crypto-shredding store that were sealed and read as null: their
 * key was forgotten (a deletion, an address erasure). `sealedUnder` names every sealed field, also an erased one.
 */
export const erasedFieldsOf = (e: { data: unknown; sealedUnder?: Readonly<Record<string, string>> }): string[] =>
  Object.keys(e.sealedUnder ?? {}).filter((path) => getPath(e.data as Obj, path.split('.')) === null);

/** `data` with the objects on the way to the path's last key replaced by shallow copies (so setPath leaves the originals alone) */
export const copiedAlong = (data: Obj, path: string[]): Obj => {
  let parent = data;
  for (const key of path.slice(0, -1)) {
    const child = parent[key];
    if (!child || typeof child !== 'object') break;
    parent = parent[key] = Array.isArray(child) ? [...child] : { ...child };
  }
  return data;
};

type Key = Buffer | KeyObject;
const keyObject = (key: Key): KeyObject => (Buffer.isBuffer(key) ? createSecretKey(key) : key);

/** the JSON of sealed values is padded to a multiple of this many bytes */
export const SEALED_BLOCK = 32;

/**
 * The JSON of a value, padded with spaces (which JSON.parse skips, so values sealed before the padding open alike) to
 * a multiple of SEALED_BLOCK bytes: AES-GCM keeps the plaintext's length, and a log whose keys were forgotten would
 * otherwise still tell each erased address's and name's exact length (probe 40 F5). Only the block count shows.
 */
export function paddedJson(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const padded = Math.ceil(Math.max(json.length, 1) / SEALED_BLOCK) * SEALED_BLOCK;
  return padded === json.length ? json : Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
}

/** AES-256-GCM of the JSON of a value (padded: paddedJson); the envelope names the subject so a reader knows which key. */
export function sealValue(value: unknown, subjectId: string, key: Key): string {
  const iv = randomIv();
  const cipher = createCipheriv('aes-256-gcm', keyObject(key), iv);
  const body = Buffer.concat([cipher.update(paddedJson(value)), cipher.final()]);
  return `${PREFIX}${subjectId}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

/** The value, or null when the subject's key was forgotten (or replaced). */
export function openValue(sealed: string, key: Key | undefined | null): unknown {
  return key ? openWith(sealed, key) : null;
}

/**
 * The value, or UNOPENED when `key` does not open it. A key that does not open the value reads as erased: the subject
 * was forgotten and later got a new key (the sealed value does not name its key's generation). Keys that cannot even
 * be decoded fail loudly in the key store (KeyDecodingError), so a broken key store is not mistaken for an erasure.
 */
export function openWith(sealed: string, key: Key): unknown {
  const raw = Buffer.from(sealed.slice(sealed.lastIndexOf(':') + 1), 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyObject(key), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8'));
  } catch {
    return UNOPENED;
  }
}
export const UNOPENED = Symbol('unopened');

export const subjectOf = (sealed: string) => sealed.slice(PREFIX.length, sealed.lastIndexOf(':'));

/** A personal field of a stored event, sealed. */
export interface Sealed {
  path: string;
  parts: string[];
  value: string;
  /** the subject it was sealed under (read once: the key lookup and `sealedUnder` both need it) */
  subject: string;
}

/** The sealed personal fields of a stored event, by the policy's paths. */
export function sealedFieldsOf(policy: (type: string, data: unknown) => { paths: string[] }[], e: { type: string; data: unknown }): Sealed[] {
  const sealed: Sealed[] = [];
  for (const { paths } of policy(e.type, e.data))
    for (const path of paths) {
      const parts = path.split('.');
      const value = getPath(e.data as Obj, parts);
      if (typeof value === 'string' && value.startsWith(PREFIX)) sealed.push({ path, parts, value, subject: subjectOf(value) });
    }
  return sealed;
}

/**
 * The parts with each event's personal fields (its plan: the policy's subjects and paths) sealed under the subject's
 * key. The caller's events stay in clear: the objects on the way to a personal field are copied (not the rest).
 */
export function sealedParts<P extends { events: { data: unknown }[] }>(parts: P[], plans: { subjectId: string; paths: string[] }[][][], keys: Map<string, Key>): P[] {
  return parts.map((part, p) => ({
    ...part,
    events: part.events.map((e, i) => {
      const plan = plans[p]![i]!;
      if (plan.length === 0) return e;
      const data = { ...(e.data as Obj) };
      for (const { subjectId, paths } of plan)
        for (const path of paths) {
          const steps = path.split('.');
          const value = getPath(data, steps);
          if (value !== undefined && value !== null) setPath(copiedAlong(data, steps), steps, sealValue(value, subjectId, keys.get(subjectId)!));
        }
      return { ...e, data };
    }),
  }));
}
