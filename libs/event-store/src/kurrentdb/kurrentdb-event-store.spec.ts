import { START } from '@kurrent/kurrentdb-client';
import type { RecordedEvent } from '../port';
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
});
