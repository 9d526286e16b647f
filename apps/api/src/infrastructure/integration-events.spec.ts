import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientProxy, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { of, throwError } from 'rxjs';
import type { EventStore, RecordedEvent, SubscribeOptions, Subscription } from '@rollcall/event-store';
import type { Config } from '../config';
import { Metrics } from '../infrastructure/metrics';
import { Lease } from './lease';
import { IntegrationEvents, toIntegrationEvent } from './integration-events';
import { recorded, scripted, waitUntil } from './testing/integration-events-fakes';

/** Unit tests: the event store and the transport are in-memory fakes; no NATS, no TCP. */

describe('IntegrationEvents (event store and transport faked)', () => {
  let dir: string;
  let emitted: { pattern: string; eventId: string; position: string }[];
  let transport: { emit: jest.Mock; close: jest.Mock; unwrap: () => { flush(): Promise<void> } };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-ie-'));
    emitted = [];
    transport = {
      emit: jest.fn((pattern: string, event: { eventId: string; position: string }) => {
        emitted.push({ pattern, eventId: event.eventId, position: event.position });
        return of(undefined);
      }),
      close: jest.fn(),
      // the NATS connection the publisher confirms each event with: its flush answers at once
      unwrap: () => ({ flush: async () => undefined }),
    };
    jest.spyOn(ClientProxyFactory, 'create').mockReturnValue(transport as unknown as ClientProxy);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  /** by default the log holds a published event after any position (so `behind` counts the positions past the checkpoint) */
  const publisher = (store: Partial<EventStore>) => {
    const config = { dataDir: dir, natsUrl: 'nats://localhost:4222' } as Config;
    const readAll = async function* (o?: { fromPosition?: bigint }) {
      yield recorded((o?.fromPosition ?? 0n) + 1n);
    };
    const p = new IntegrationEvents(config, { readAll, ...store } as EventStore, new Metrics());
    Object.assign(p.retry, { initialDelayMs: 100, maxDelayMs: 1000 });
    return p;
  };
  const checkpoint = () => readFileSync(join(dir, 'integration-events.checkpoint'), 'utf8');

  it('re-subscribes from its checkpoint after the subscription fails, with backoff, and reports its state', async () => {
    writeFileSync(join(dir, 'integration-events.checkpoint'), '5');
    const subscriptions = [
      scripted([recorded(6n), recorded(7n), new Error('connection reset')], false),
      scripted([new Error('14 UNAVAILABLE')], false),
      scripted([recorded(8n)], true),
    ];
    const calls: SubscribeOptions[] = [];
    const subscribe = jest.fn((options: SubscribeOptions) => {
      calls.push(options);
      return subscriptions[calls.length - 1]!;
    });
    const p = publisher({ subscribe, headPosition: async () => 100n });
    expect(p.status()).toMatchObject({ state: 'stopped', consecutiveFailures: 0 });

    await p.start();
    await waitUntil(() => p.status().state === 'retrying' && p.status().consecutiveFailures === 2);
    expect(p.status()).toMatchObject({ lastError: '14 UNAVAILABLE', checkpoint: '7' });
    expect(subscribe).toHaveBeenCalledTimes(2); // the second wait (200 ms) is not over yet

    // (the checkpoint follows the transport's confirmation, a turn of the event loop after the send)
    await waitUntil(() => emitted.length === 3 && p.status().checkpoint === '8');
    expect(emitted.map((e) => e.position)).toEqual(['6', '7', '8']);
    expect(emitted[0]!.pattern).toBe('rollcall.events.OrganizationCreated');
    // each re-subscription starts after the last event published, not from the head (100)
    expect(calls.map((c) => c.fromPosition)).toEqual([5n, 7n, 7n]);
    expect(subscriptions[0]!.closed() && subscriptions[1]!.closed()).toBe(true);
    const running = { state: 'running', consecutiveFailures: 0, failedSends: 0, lastError: '14 UNAVAILABLE', checkpoint: '8' };
    expect(p.status()).toEqual({ ...running, transports: { nats: running } });
    expect(checkpoint()).toBe('8');

    await p.onApplicationShutdown();
    expect(subscriptions[2]!.closed()).toBe(true);
    expect(transport.close).toHaveBeenCalled();
    expect(p.status().state).toBe('stopped');
  });

  it('retries when the event store cannot even give its head on the first start', async () => {
    const headPosition = jest
      .fn<Promise<bigint>, []>()
      .mockRejectedValueOnce(new Error('deadline exceeded'))
      .mockResolvedValue(3n);
    const live = scripted([recorded(4n)], true);
    const subscribe = jest.fn<Subscription, [SubscribeOptions]>(() => live);
    const p = publisher({ subscribe, headPosition });

    await p.start();
    // (the checkpoint, and the failures' reset with it, follow the confirmation a turn of the event loop after the send)
    await waitUntil(() => emitted.length === 1 && p.status().checkpoint === '4');
    expect(headPosition).toHaveBeenCalledTimes(2);
    expect(subscribe).toHaveBeenCalledTimes(1);
    expect(subscribe.mock.calls[0]![0].fromPosition).toBe(3n);
    expect(p.status()).toMatchObject({
      state: 'running',
      consecutiveFailures: 0,
      lastError: 'deadline exceeded',
    });
    await p.onApplicationShutdown();
  });

  it('shutting down while the transport refuses an event leaves the checkpoint before that event; the refusals show meanwhile', async () => {
    writeFileSync(join(dir, 'integration-events.checkpoint'), '5');
    transport.emit.mockImplementation(() => throwError(() => new Error('NATS down')));
    const live = scripted([recorded(6n)], true);
    const p = publisher({ subscribe: () => live, headPosition: async () => 8n, readStream: async function* () {} });
    const metrics = (p as unknown as { metrics: Metrics }).metrics;

    await p.start();
    await waitUntil(() => transport.emit.mock.calls.length >= 2);
    expect(p.status()).toMatchObject({ state: 'retrying', checkpoint: '5', failedSends: expect.any(Number), lastError: 'sending OrganizationCreated failed: NATS down' });
    expect(p.status().failedSends).toBeGreaterThanOrEqual(2);
    expect(await p.behind()).toBe(3);
    const scraped = await metrics.registry.metrics();
    expect(scraped).toMatch(/^rollcall_integration_events_behind\{transport="nats"\} 3$/m);
    expect(scraped).toMatch(/^rollcall_integration_events_failed_sends\{transport="nats"\} [2-9]\d*$/m);
    await p.onApplicationShutdown();
    expect(checkpoint()).toBe('5');
    expect(p.status()).toMatchObject({ state: 'stopped', checkpoint: '5' });
  });

  it('a retried event is sent as the log gives it then: a deletion meanwhile erased its personal data (probe 38 F2)', async () => {
    writeFileSync(join(dir, 'integration-events.checkpoint'), '5');
    const invited = { ...recorded(6n), stream: 'workspace-1', type: 'InvitationCancelled', data: { workspaceId: 'w', invitationId: 'i', email: 'zed@acme.test', cancelledAt: 't' } };
    const sent: unknown[] = [];
    transport.emit.mockImplementationOnce(() => throwError(() => new Error('ECONNREFUSED'))).mockImplementation((_pattern: string, event: { data: unknown }) => {
      sent.push(event.data);
      return of(undefined);
    });
    // the consumer was down; the user was deleted meanwhile, and the log now reads the address as null
    const readStream = jest.fn(async function* () {
      yield { ...invited, data: { ...invited.data, email: null } };
    });
    const p = publisher({ subscribe: () => scripted([invited], true), headPosition: async () => 9n, readStream });
    await p.start();
    await waitUntil(() => sent.length === 1 && p.status().checkpoint === '6');
    // where it stands, for /health and /metrics (probe 38 F4): caught up with its event, 3 behind the log's head
    expect(p.status()).toMatchObject({ state: 'running', failedSends: 0, checkpoint: '6' });
    expect(await p.behind()).toBe(3);
    expect(sent).toEqual([{ workspaceId: 'w', invitationId: 'i', email: null, cancelledAt: 't' }]);
    expect(readStream).toHaveBeenCalledWith('workspace-1', { fromRevision: 6n, toPosition: 6n });
    await p.onApplicationShutdown();
    expect(checkpoint()).toBe('6');
  });

  it('probe 45 F9: behind 0 when only records that are not published follow the checkpoint (a deletion\'s PersonalDataErased)', async () => {
    writeFileSync(join(dir, 'integration-events.checkpoint'), '5');
    const readAll = jest.fn(async function* () {});
    const p = publisher({ subscribe: () => scripted([recorded(6n)], true), headPosition: async () => 7n, readStream: async function* () {}, readAll });
    await p.start();
    await waitUntil(() => p.status().checkpoint === '6');
    expect(await p.behind()).toBe(0);
    expect(readAll).toHaveBeenCalledWith(expect.objectContaining({ fromPosition: 6n, maxCount: 1 }));
    await p.onApplicationShutdown();
  });

  it('probe 67 F1: each pushed event names the position it follows (the one sent before it, or the checkpoint started from), and its schema version', async () => {
    writeFileSync(join(dir, 'integration-events.checkpoint'), '5');
    const events: { position: string; previousPosition?: string | null; schemaVersion: number }[] = [];
    transport.emit.mockImplementation((_: string, event: (typeof events)[number]) => {
      events.push(event);
      return of(undefined);
    });
    const subscriptions = [scripted([recorded(6n), recorded(9n), new Error('connection reset')], false), scripted([recorded(12n)], true)];
    let calls = 0;
    const p = publisher({ subscribe: () => subscriptions[calls++]!, headPosition: async () => 12n, readStream: async function* () {} });
    await p.start();
    await waitUntil(() => events.length === 3);
    expect(events.map((e) => [e.position, e.previousPosition, e.schemaVersion])).toEqual([
      ['6', '5', 1],
      ['9', '6', 1],
      // subscribed again from its checkpoint (9): what it sent before the failure is not what this one follows
      ['12', '9', 1],
    ]);
    await p.onApplicationShutdown();
  });

  it('probe 67 F4: stops before an event a later version of Rollcall wrote (retrying, its checkpoint before it), as the projector does', async () => {
    writeFileSync(join(dir, 'integration-events.checkpoint'), '5');
    const later = { ...recorded(7n), type: 'MemberSuspended' };
    const subscribe = jest.fn((_options: SubscribeOptions) => scripted([recorded(6n), later, recorded(8n)], true));
    const p = publisher({ subscribe, headPosition: async () => 8n, readStream: async function* () {} });
    await p.start();
    try {
      await waitUntil(() => p.status().state === 'retrying');
      expect(emitted.map((e) => e.position)).toEqual(['6']);
      expect(p.status()).toMatchObject({ checkpoint: '6', lastError: expect.stringContaining('cannot read (MemberSuspended, schema version 1): a later version wrote it') });
      expect(checkpoint()).toBe('6');
      // it reads every event of the domain's streams, not only the types it knows (it skipped the others for good)
      expect(subscribe.mock.calls[0]![0].filter).toEqual({ streamPrefixes: ['organization-', 'workspace-', 'presence-', 'mail-'] });
      // probe 68 F5: and lets the data dir's publisher lease go, for an upgraded process standing by to take
      const standby = new Lease(dir, 'publisher');
      try {
        await waitUntil(() => standby.tryAcquire());
      } finally {
        standby.close();
      }
    } finally {
      await p.onApplicationShutdown();
    }
  });

  it('probe 38 F3: a TCP consumer down holds only the TCP transport; NATS goes on, each with its own checkpoint', async () => {
    writeFileSync(join(dir, 'integration-events.checkpoint'), '5');
    const tcp = { emit: jest.fn(() => throwError(() => new Error('ECONNREFUSED'))), close: jest.fn() };
    jest.spyOn(ClientProxyFactory, 'create').mockImplementation((options) => ((options as unknown as { transport: Transport }).transport === Transport.TCP ? tcp : transport) as unknown as ClientProxy);
    const config = { dataDir: dir, natsUrl: 'nats://localhost:4222', eventsTcpTarget: { host: '127.0.0.1', port: 1 } } as Config;
    const readAll = async function* (o?: { fromPosition?: bigint }) {
      yield recorded((o?.fromPosition ?? 0n) + 1n);
    };
    const p = new IntegrationEvents(config, { subscribe: () => scripted([recorded(6n), recorded(7n)], true), headPosition: async () => 7n, readStream: async function* () {}, readAll } as unknown as EventStore, new Metrics());
    const metrics = (p as unknown as { metrics: Metrics }).metrics;

    await p.start();
    await waitUntil(() => emitted.length === 2 && tcp.emit.mock.calls.length >= 2 && checkpoint() === '7');
    expect(emitted.map((e) => e.position)).toEqual(['6', '7']);
    expect(checkpoint()).toBe('7');
    // the TCP transport's first start resumed from the checkpoint both shared before (5), and stays before its event
    expect(readFileSync(join(dir, 'integration-events-tcp.checkpoint'), 'utf8')).toBe('5');
    const status = p.status();
    expect(status.transports).toEqual({
      nats: { state: 'running', consecutiveFailures: 0, failedSends: 0, checkpoint: '7' },
      tcp: { state: 'retrying', consecutiveFailures: 0, failedSends: expect.any(Number), checkpoint: '5', lastError: 'sending OrganizationCreated failed: ECONNREFUSED' },
    });
    expect(status.transports!.tcp!.failedSends).toBeGreaterThanOrEqual(2);
    // the whole: the lower checkpoint, the more refusals
    expect(status).toMatchObject({ state: 'retrying', checkpoint: '5', failedSends: status.transports!.tcp!.failedSends });
    expect(await p.behindByTransport()).toEqual({ nats: 0, tcp: 2 });
    expect(await p.behind()).toBe(2);
    const scraped = await metrics.registry.metrics();
    expect(scraped).toMatch(/^rollcall_integration_events_behind\{transport="nats"\} 0$/m);
    expect(scraped).toMatch(/^rollcall_integration_events_behind\{transport="tcp"\} 2$/m);
    expect(scraped).toMatch(/^rollcall_integration_events_published_total\{type="OrganizationCreated",transport="nats"\} 2$/m);
    await p.onApplicationShutdown();
    expect(tcp.close).toHaveBeenCalled();
    expect(readFileSync(join(dir, 'integration-events-tcp.checkpoint'), 'utf8')).toBe('5');
  });

  it('ROLLCALL_NATS_EVENT_SUBJECTS=both: each event on the operator\'s subject and its organization\'s, each saying what it follows there; the checkpoint past it once both took it; a refusal sends it on both again', async () => {
    writeFileSync(join(dir, 'integration-events.checkpoint'), '5');
    const sent: string[] = [];
    let refusals = 1;
    transport.emit.mockImplementation((pattern: string, event: { position: string; previousPosition: string | null }) => {
      // the organization's subject refuses the first event once: it is sent again on both (at least once on each)
      if (pattern.startsWith('rollcall.org.') && refusals-- > 0) return throwError(() => new Error('NATS down'));
      sent.push(`${event.position} after ${event.previousPosition} on ${pattern}`);
      return of(undefined);
    });
    // organization 1's events at 6 and 8, organization 2's at 7
    const other = { ...recorded(7n), stream: 'organization-2' };
    const config = { dataDir: dir, natsUrl: 'nats://localhost:4222', natsEventSubjects: 'both' } as Config;
    const p = new IntegrationEvents(config, { subscribe: () => scripted([recorded(6n), other, recorded(8n)], true), headPosition: async () => 8n, readStream: async function* () { yield recorded(6n); } } as unknown as EventStore, new Metrics());
    await p.start();
    try {
      await waitUntil(() => sent.length === 7);
      expect(sent).toEqual([
        '6 after 5 on rollcall.events.OrganizationCreated',
        '6 after 5 on rollcall.events.OrganizationCreated',
        '6 after 5 on rollcall.org.1.events.OrganizationCreated',
        '7 after 6 on rollcall.events.OrganizationCreated',
        // its organization's first since the checkpoint: after the checkpoint there
        '7 after 5 on rollcall.org.2.events.OrganizationCreated',
        '8 after 7 on rollcall.events.OrganizationCreated',
        // organization 2's event between is not one organization 1's consumer missed
        '8 after 6 on rollcall.org.1.events.OrganizationCreated',
      ]);
      await waitUntil(() => checkpoint() === '8');
    } finally {
      await p.onApplicationShutdown();
    }
  });

  it('probe 113 F2: on an organization\'s subject an event follows its organization\'s last one across a re-subscription (another replica appended), not the checkpoint', async () => {
    writeFileSync(join(dir, 'integration-events.checkpoint'), '5');
    const sent: string[] = [];
    transport.emit.mockImplementation((pattern: string, event: { position: string; previousPosition: string | null }) => {
      if (pattern.startsWith('rollcall.org.')) sent.push(`${event.position} after ${event.previousPosition} on ${pattern}`);
      return of(undefined);
    });
    // organization 1's event at 6, organization 2's at 7; the subscription ends (as tick ends it when another process
    // appended) and the next one, from checkpoint 7, brings organization 1's event at 8
    const other = { ...recorded(7n), stream: 'organization-2' };
    const subscriptions = [scripted([recorded(6n), other, new Error('re-subscribing')], false), scripted([recorded(8n)], true)];
    let n = 0;
    const config = { dataDir: dir, natsUrl: 'nats://localhost:4222', natsEventSubjects: 'organization' } as Config;
    const p = new IntegrationEvents(config, { subscribe: () => subscriptions[n++]!, headPosition: async () => 8n } as unknown as EventStore, new Metrics());
    Object.assign(p.retry, { initialDelayMs: 10, maxDelayMs: 10 });
    await p.start();
    try {
      await waitUntil(() => sent.length === 3);
      expect(sent).toEqual(['6 after 5 on rollcall.org.1.events.OrganizationCreated', '7 after 5 on rollcall.org.2.events.OrganizationCreated', '8 after 6 on rollcall.org.1.events.OrganizationCreated']);
    } finally {
      await p.onApplicationShutdown();
    }
  });

  it('is disabled without a transport, and says so', async () => {
    const subscribe = jest.fn();
    const config = { dataDir: dir } as Config;
    const p = new IntegrationEvents(config, { subscribe } as unknown as EventStore, new Metrics());
    await p.start();
    expect(p.status()).toEqual({ state: 'disabled', consecutiveFailures: 0, failedSends: 0 });
    expect(await p.behind()).toBeUndefined();
    expect(subscribe).not.toHaveBeenCalled();
    await p.onApplicationShutdown();
  });
});

describe('toIntegrationEvent', () => {
  it("publishes an event's data, but not the hash of an API key's secret", () => {
    const issued: RecordedEvent = {
      ...recorded(3n),
      type: 'ApiKeyIssued',
      data: { organizationId: 'o-1', keyId: 'k-1', secretHash: 'ab'.repeat(32), issuedAt: '2026-01-01T00:00:00.000Z' },
      metadata: { actorId: 'system', occurredAt: '2026-01-01T00:00:00.000Z' },
    };
    expect(toIntegrationEvent(issued)).toMatchObject({ type: 'ApiKeyIssued', data: { organizationId: 'o-1', keyId: 'k-1', issuedAt: '2026-01-01T00:00:00.000Z' } });
    expect(toIntegrationEvent(issued)!.data).not.toHaveProperty('secretHash');
    expect(toIntegrationEvent(recorded(4n))!.data).toEqual({ organizationId: 'o-1', n: 4 });
  });
});
