import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from '../port';
import type { KeyStore } from './key-store';

/** Where the personal data of an event is, and whose it is. */
export type PersonalDataPolicy = (type: string, data: unknown) => { subjectId: string; paths: string[] }[];

const PREFIX = 'enc:v1:';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const getPath = (data: Obj, path: string[]): unknown => path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Obj)[k] : undefined), data);
const setPath = (data: Obj, path: string[], value: unknown): void => {
  const parent = path.slice(0, -1).reduce<Obj | undefined>((o, k) => (o && typeof o[k] === 'object' ? o[k] : undefined), data);
  if (parent && path.at(-1)! in parent) parent[path.at(-1)!] = value;
};

/** AES-256-GCM of the JSON of a value; the envelope names the subject so a reader knows which key. */
export function sealValue(value: unknown, subjectId: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${PREFIX}${subjectId}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

/** The value, or null when the subject's key was forgotten (or replaced). */
export function openValue(sealed: string, key: Buffer | undefined): unknown {
  if (!key) return null;
  const raw = Buffer.from(sealed.slice(sealed.lastIndexOf(':') + 1), 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8'));
  } catch {
    return null;
  }
}

const subjectOf = (sealed: string) => sealed.slice(PREFIX.length, sealed.lastIndexOf(':'));

/**
 * Crypto-shredding around any EventStore: personal data (per the policy) is encrypted with its subject's key
 * before it is appended, and decrypted when read; a forgotten subject's fields read as null. The wrapped
 * store never sees personal data in clear; every reader (deciders, projectors, replay) goes through here.
 */
export class PersonalDataEventStore implements EventStore {
  /** subjectId → key, or null for a subject known to have no key (forgotten) */
  private readonly cache = new Map<string, Buffer | null>();

  constructor(
    private readonly inner: EventStore,
    private readonly keys: KeyStore,
    private readonly policy: PersonalDataPolicy,
    private readonly cacheSize = 100_000,
  ) {}

  async append(stream: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    const plans = events.map((e) => this.policy(e.type, e.data));
    const subjects = [...new Set(plans.flat().map((p) => p.subjectId))];
    if (subjects.length === 0) return this.inner.append(stream, events, expected);
    const cached = subjects.filter((id) => this.cache.get(id));
    const keys = new Map(cached.map((id) => [id, this.cache.get(id)!]));
    const missing = subjects.filter((id) => !keys.has(id));
    if (missing.length > 0)
      for (const [id, key] of await this.keys.ensure(missing)) {
        keys.set(id, key);
        this.remember(id, key);
      }
    const sealed = events.map((e, i) => {
      if (plans[i]!.length === 0) return e;
      const data = structuredClone(e.data) as Obj;
      for (const { subjectId, paths } of plans[i]!)
        for (const path of paths) {
          const parts = path.split('.');
          const value = getPath(data, parts);
          if (value !== undefined && value !== null) setPath(data, parts, sealValue(value, subjectId, keys.get(subjectId)!));
        }
      return { ...e, data };
    });
    return this.inner.append(stream, sealed, expected);
  }

  readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    return this.opened(this.inner.readStream(stream, options));
  }

  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    return this.opened(this.inner.readAll(options));
  }

  subscribe(options?: SubscribeOptions): Subscription {
    const inner = this.inner.subscribe(options);
    const opened = this.opened(inner);
    return { [Symbol.asyncIterator]: () => opened[Symbol.asyncIterator](), unsubscribe: () => inner.unsubscribe() };
  }

  /** Erases subjects: their keys are deleted, so their data reads as null from now on. */
  async forget(subjectIds: readonly string[]): Promise<void> {
    await this.keys.forget(subjectIds);
    for (const id of subjectIds) this.cache.set(id, null);
  }

  headPosition(): Promise<bigint> {
    return this.inner.headPosition();
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  async close(): Promise<void> {
    await this.inner.close();
    await this.keys.close();
  }

  private async *opened(events: AsyncIterable<RecordedEvent>): AsyncGenerator<RecordedEvent> {
    for await (const e of events) yield await this.open(e);
  }

  private async open(e: RecordedEvent): Promise<RecordedEvent> {
    const plan = this.policy(e.type, e.data);
    if (plan.length === 0) return e;
    const data = e.data as Obj;
    const sealed: { parts: string[]; value: string }[] = [];
    for (const { paths } of plan)
      for (const path of paths) {
        const parts = path.split('.');
        const value = getPath(data, parts);
        if (typeof value === 'string' && value.startsWith(PREFIX)) sealed.push({ parts, value });
      }
    if (sealed.length === 0) return e;
    const keys = await this.keysFor(sealed.map((s) => subjectOf(s.value)));
    const copy = structuredClone(data);
    for (const { parts, value } of sealed) setPath(copy, parts, openValue(value, keys.get(subjectOf(value)) ?? undefined));
    return { ...e, data: copy };
  }

  private remember(id: string, key: Buffer | null): void {
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, key);
  }

  private async keysFor(subjectIds: string[]): Promise<Map<string, Buffer | null>> {
    const missing = subjectIds.filter((id) => !this.cache.has(id));
    if (missing.length > 0) {
      const found = await this.keys.find(missing);
      for (const id of missing) this.remember(id, found.get(id) ?? null);
    }
    return new Map(subjectIds.map((id) => [id, this.cache.get(id) ?? null]));
  }
}
