import { START } from '@kurrent/kurrentdb-client';
import type { RecordedEvent } from '../port';
import { JSON_KEYS_PROPERTY, decodeMetadata, encodeMetadata } from './kurrentdb-codec';
import { matches, normalizeConnectionString, serverFilter, toReadPosition } from './kurrentdb-event-store';

describe('KurrentDbEventStore helpers', () => {
  it('accepts esdb:// and kurrentdb:// connection strings, handing the client the kurrentdb scheme', () => {
    expect(normalizeConnectionString('esdb://localhost:2113?tls=false')).toBe(
      'kurrentdb://localhost:2113?tls=false',
    );
    expect(normalizeConnectionString(' ESDB+discover://a:1,b:2 ')).toBe('kurrentdb+discover://a:1,b:2');
    expect(normalizeConnectionString('kurrentdb://admin:changeit@db:2113')).toBe(
      'kurrentdb://admin:changeit@db:2113',
    );
  });

  it('refuses throwOnAppendFailure=false (the client would resolve a conflict with a wrong revision)', () => {
    expect(() => normalizeConnectionString('kurrentdb://db:2113?tls=false&throwOnAppendFailure=false')).toThrow(/throwOnAppendFailure/);
    expect(() => normalizeConnectionString('esdb://db:2113?ThrowOnAppendFailure=false&tls=false')).toThrow(/throwOnAppendFailure/);
    expect(normalizeConnectionString('kurrentdb://db:2113?throwOnAppendFailure=true')).toBe('kurrentdb://db:2113?throwOnAppendFailure=true');
  });

  it('maps the port position (exclusive, -1 = start) to a client read position', () => {
    expect(toReadPosition(undefined)).toBe(START);
    expect(toReadPosition(-1n)).toBe(START);
    expect(toReadPosition(42n)).toEqual({ commit: 42n, prepare: 42n });
  });

  it('filters on the server by stream prefixes, else by exact event types, else excludes system events', () => {
    expect(serverFilter({ streamPrefixes: ['user-'], eventTypes: ['A'] })).toMatchObject({
      filterOn: 'streamName',
      prefixes: ['user-'],
    });
    expect(serverFilter({ eventTypes: ['User.Invited', 'A|B'] })).toMatchObject({
      filterOn: 'eventType',
      regex: '^(?:User\\.Invited|A\\|B)$',
    });
    expect(serverFilter(undefined)).toMatchObject({ filterOn: 'eventType', regex: '^[^$].*' });
  });

  it('applies the port filter exactly on the client', () => {
    const e = (stream: string, type: string) => ({ stream, type }) as RecordedEvent;
    expect(matches(e('user-1', 'Invited'), undefined)).toBe(true);
    expect(matches(e('$stats', '$statsCollected'), undefined)).toBe(false);
    expect(matches(e('user-1', 'InvitedV2'), { eventTypes: ['Invited'] })).toBe(false);
    expect(
      matches(e('user-1', 'Invited'), { eventTypes: ['Invited'], streamPrefixes: ['org-', 'user-'] }),
    ).toBe(true);
    expect(matches(e('User-1', 'Invited'), { streamPrefixes: ['user-'] })).toBe(false);
  });

  it('encodes metadata for multiStreamAppend as strings, and decodes only what it encoded', () => {
    const metadata = { n: 2, s: '2', b: true, o: { a: [1] }, nil: null, skipped: undefined };
    const encoded = encodeMetadata(metadata);
    expect(encoded).toEqual({
      n: '2',
      s: '2',
      b: 'true',
      o: '{"a":[1]}',
      nil: 'null',
      [JSON_KEYS_PROPERTY]: '["n","b","o","nil"]',
    });
    const { skipped: _, ...defined } = metadata;
    expect(decodeMetadata({ ...encoded, '$schema.data-format': 'Json', '$schema.name': 'T' })).toEqual(
      defined,
    );
    // metadata written by append (no marker) is handed out as stored, server-looking keys included
    expect(decodeMetadata({ s: '2', '$schema.name': 'T' })).toEqual({ s: '2', '$schema.name': 'T' });
    // a malformed value or marker is handed out as stored rather than failing the read
    expect(decodeMetadata({ n: '{', [JSON_KEYS_PROPERTY]: '["n"]' })).toEqual({ n: '{' });
    expect(decodeMetadata({ n: '2', [JSON_KEYS_PROPERTY]: 'oops' })).toEqual({ n: '2' });
    expect(decodeMetadata(new Uint8Array([1]))).toEqual({});
    expect(decodeMetadata(undefined)).toEqual({});
  });
});
