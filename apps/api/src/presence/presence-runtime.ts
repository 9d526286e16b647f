import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { EventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { presenceStream } from '@rollcall/domain';
import { StreamStates } from '../shared/command-path/stream-states';
import { PRESENCE_STREAM } from '../shared/command-path/targets';
import { EVENT_STORE } from '../shared/tokens';
import { LAST_SEEN, type LastSeen } from '../shared/last-seen';
import { PresenceFeed } from './feed';
import { BufferedLeaseStore, LEASE_STORE, type LeaseStore, SqliteLeaseBackend } from './leases';
import { MongoLeaseBackend } from './mongo-leases';
import { HeartbeatHandler, PRESENCE_OPTIONS, PresenceReactions, type PresenceOptions, SetOfflineHandler, sweepIntervalMs } from './presence-handlers';
import { PresenceStreams } from './presence-streams';
import { KEEP_ALIVE_MS } from './sse';
import { PresenceSweeper } from './sweeper';
import { StreamTickets } from './tickets';

/**
 * Starts what presence runs in the background (the feed and its reaction to ended memberships, the sweeper) once
 * the app is up, and ends it on shutdown: open SSE streams first (the HTTP server waits for open responses), then
 * the sweeper and the feed, and last the leases (flushed after the last heartbeat was answered).
 */
@Injectable()
export class PresenceRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Presence');

  constructor(
    @Inject(PresenceFeed) private readonly feed: PresenceFeed,
    @Inject(PresenceSweeper) private readonly sweeper: PresenceSweeper,
    @Inject(PresenceReactions) private readonly reactions: PresenceReactions,
    @Inject(PresenceStreams) private readonly streams: PresenceStreams,
    @Inject(LEASE_STORE) private readonly leases: LeaseStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.feed.onLeft = (left) =>
      void this.reactions.memberLeft(left, Date.now()).catch((e: Error) => this.logger.error(`offline after ${left.reason}: ${e.message}`));
    await this.feed.start();
    this.sweeper.start();
    // leases that lapsed while no process ran go offline now, not one interval later
    void this.sweeper.sweep().catch((e: Error) => this.logger.error(`presence sweep: ${e.message}`));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.streams.closeAll();
    await this.sweeper.stop();
    await this.feed.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.leases.close();
  }
}

/** Everything the presence feature provides (docs/adr/0006); the app module adds these and PresenceController. */
export function presenceProviders(config: Config, secrets: { invitationSecret: string }): Provider[] {
  const options: PresenceOptions = { timeoutSeconds: config.presenceTimeoutSeconds, sweepMs: sweepIntervalMs(config.presenceTimeoutSeconds), keepAliveMs: KEEP_ALIVE_MS };
  return [
    { provide: PRESENCE_OPTIONS, useValue: options },
    {
      provide: LEASE_STORE,
      useFactory: (): LeaseStore => new BufferedLeaseStore(config.mongoUrl ? new MongoLeaseBackend(config.mongoUrl) : new SqliteLeaseBackend(config.dataDir)),
    },
    {
      // member reads overlay the latest heartbeat on the read model's last-seen time
      provide: LAST_SEEN,
      useFactory: (leases: LeaseStore, states: StreamStates): LastSeen => ({
        of: async (workspaceId, userIds) => {
          const seen = new Map((await leases.getMany(workspaceId, userIds)).map((lease) => [lease.userId, new Date(lease.lastSeenAt).toISOString()]));
          // a member the read model shows online or away without a lease: released (a timeout, a set offline) before
          // the read model projected it, when it still holds their last status change's time — the decided state
          // holds their last heartbeat's (probe 117 F2: last seen went back for ~15 ms, ~200 ms with the projector
          // apart, by as long as they had been online). Rare: a lease exists while a member is online or away
          for (const userId of userIds)
            if (!seen.has(userId)) {
              const { lastSeenAt } = (await states.single(presenceStream(workspaceId, userId), PRESENCE_STREAM)).state;
              if (lastSeenAt !== null) seen.set(userId, lastSeenAt);
            }
          return seen;
        },
      }),
      inject: [LEASE_STORE, StreamStates],
    },
    {
      provide: PresenceFeed,
      // the embedded store does not wake subscriptions for another process's appends: poll its head. Followed from the
      // head before any command can load a state (the TCP transport listens before the app's bootstrap starts the feed)
      useFactory: async (store: EventStore, states: StreamStates) =>
        new PresenceFeed(store, states, { pollMs: config.eventstoreUrl ? undefined : 100, from: await store.headPosition() }),
      inject: [EVENT_STORE, StreamStates],
    },
    {
      provide: PresenceStreams,
      useFactory: (feed: PresenceFeed, store: EventStore) =>
        new PresenceStreams(feed, store, options.keepAliveMs, { perOrganization: config.presenceStreamsPerOrganization, max: config.presenceStreamsMax }, config.presenceReplaySeconds * 1000),
      inject: [PresenceFeed, EVENT_STORE],
    },
    { provide: StreamTickets, useValue: new StreamTickets(secrets.invitationSecret) },
    PresenceReactions,
    {
      provide: PresenceSweeper,
      useFactory: (leases: LeaseStore, reactions: PresenceReactions) => new PresenceSweeper(leases, reactions, options),
      inject: [LEASE_STORE, PresenceReactions],
    },
    HeartbeatHandler,
    SetOfflineHandler,
    PresenceRuntime,
  ];
}
