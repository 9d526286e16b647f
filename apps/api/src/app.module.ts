import { type DynamicModule, Logger, Module, RequestMethod, ValidationPipe } from '@nestjs/common';
import { HeavyReads } from './shared/reads/heavy-reads';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ACTIVITY_STORE, type ActivityStore, SqliteActivityStore } from './activity/activity-store';
import { MongoActivityStore } from './activity/mongo-activity-store';
import { EMAIL_CHANGE_MAILS, type EmailChangeMails, SqliteEmailChangeMails } from './users/email-change-mails';
import { MongoEmailChangeMails } from './users/mongo-email-change-mails';
import { ActivityRecorder, KeyUseGuard } from './activity/activity-recorder';
import { NatsTransport } from './infrastructure/problem-nats-server';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import type { EventStore } from '@rollcall/event-store';
import type { Config } from './config';
import { CreateOrganizationHandler } from './organizations/create-organization';
import { OrganizationsController } from './organizations/organizations.controller';
import { ApiKeysController } from './organizations/api-keys.controller';
import { ApiKeyReads, ApiKeyRevocations, IssueApiKeyHandler, LabelApiKeyHandler, RevokeApiKeyHandler } from './organizations/api-keys';
import { OrganizationClosings } from './organizations/close-organization';
import { PersonalDataExports } from './users/personal-data';
import { OrgUsersCsv } from './organizations/org-users-csv';
import { OrgMembersCsv } from './organizations/org-members-csv';
import { OrgMembersCsvController } from './organizations/org-members-csv.controller';
import { InvitationReadController } from './invitations/invitation-read.controller';
import { ExportLedger } from './shared/export-ledger';
import { PersonalDataController } from './users/personal-data.controller';
import { CreateWorkspaceHandler } from './workspaces/create-workspace';
import { WorkspacesController } from './workspaces/workspaces.controller';
import { WorkspaceQueriesController } from './workspaces/workspace-queries.controller';
import { PlanController } from './workspaces/plan.controller';
import { ChangePlanHandler } from './workspaces/change-plan';
import { OrganizationQueriesController } from './organizations/organization-queries.controller';
import { OrganizationReads } from './organizations/organization-reads';
import { OrganizationChanges } from './organizations/organization-changes';
import {
  AcceptInvitationHandler,
  CancelInvitationHandler,
  GetInvitationLinkHandler,
  InviteMemberHandler,
  ResendInvitationHandler,
} from './invitations/invitation-handlers';
import { AcceptInvitationController, InvitationsController } from './invitations/invitations.controller';
import { InvitationPreviewController } from './invitations/invitation-preview';
import { ChangeAccessHandler, RevokeAccessHandler } from './members/member-handlers';
import { MemberCommandsController } from './members/members.controller';
import { ConfirmEmailChangeHandler, DeleteUserHandler, UpdateProfileHandler } from './users/user-handlers';
import { ChangeOrgAdminHandler } from './users/org-admin';
import { EmailConfirmationController, UsersController } from './users/users.controller';
import { AddressErasuresController } from './address-erasures/address-erasures.controller';
import { EraseAddressHandler } from './address-erasures/erase-address';
import { APP_CONFIG, AUDIT_IDENTITY, EVENT_STORE, LOCAL_SECRETS, READ_STORE } from './shared/tokens';
import { fieldErrors } from './shared/http/field-errors';
import { PERSONAL_DATA, type PersonalData, createRollcallEventStore, createSnapshotStore } from '@rollcall/event-store';
import { ERASURE_JOURNAL, ErasureJournal } from './backup/erasure-journal';
import { IDEMPOTENCY_STORE, Idempotency, type IdempotencyStore, SqliteIdempotencyStore } from './shared/command-path/idempotency';
import { answerInLog, erasureLookup } from './shared/erasure/erased-requests';
import { MongoIdempotencyStore } from './infrastructure/mongo-idempotency-store';
import { INVITATION_MAILER, OutboxMailer, SmtpMailer } from './mail/mailer';
import { Metrics } from './infrastructure/metrics';
import { erasingFromMemory } from './infrastructure/erasure';
import { READ_SIDE, type ReadSide } from './infrastructure/read-side';
import { DerivedSecrets, EmailConfirmationLinks, InvitationLinks, type LocalSecrets, loadLocalSecrets } from './shared/secrets';
import { StreamHandler } from './shared/command-path/stream-handler';
import { StreamStates } from './shared/command-path/stream-states';
import { AddressErasure, addressErasureOver } from './shared/erasure/address-erasure';
import { StateSnapshots } from './shared/snapshots/snapshots';
import { MessageWrites } from './shared/http/messages';
import { JsonPayloadGuardPipe } from './shared/http/json-body';
import { WritePipeline } from './shared/command-path/write-pipeline';
import { ApiKeyGuard, Authenticator } from './shared/auth';
import { DeclaredInputGuard } from './shared/http/declared-input';
import { HealthController } from './health/health.controller';
import { Stopping } from './health/stopping';
import { StorageFaults } from './health/storage-faults';
import { MemberQueriesController, RosterController } from './members/member-queries.controller';
import { HistoryController } from './history/history.controller';
import { PresenceController } from './presence/presence.controller';
import { presenceProviders } from './presence/presence-runtime';
import { PresenceFeed } from './presence/feed';
import { AuditController } from './audit/audit.controller';
import { EventsController } from './events/events.controller';
import { OrganizationEventsController } from './events/organization-events.controller';
import { AuditLog } from './audit/audit-log';
import { loadAuditIdentity } from './audit/audit-identity';
import { ReadAccess } from './shared/reads/read-access';
import { TeamsController } from './teams/teams.controller';
import { TeamQueriesController } from './teams/team-queries.controller';
import { NetworkController } from './teams/network.controller';
import { NetworkCommandHandler, TeamCommandHandler } from './teams/team-handlers';
import { TeamReads } from './teams/team-reads';
import { WorkspaceDirectory } from './teams/workspace-directory';
import { AccessAsOfHandler, RosterAsOfHandler } from './members/access-as-of';
import { ReplayCheckpoints } from './members/replay-checkpoints';
import { ProblemException, ProblemFilter, problem } from './shared/http/problem';
import { ReadPositionGuard } from './shared/reads/read-position';
import { createReadSide } from './infrastructure/read-side.factory';
import { IntegrationEvents } from './infrastructure/integration-events';
import { MailDispatcher } from './mail/mail-dispatcher';
import { MailLedger } from './mail/mail-ledger';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { createLogger } from './logging';
import { MESSAGE_LOGGING } from './logging-messages';

/** Unknown fields are refused, types checked, and every problem named with its field. */
export const validationPipe = () =>
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: true,
    exceptionFactory: (errors) => {
      const fields = fieldErrors(errors);
      return new ProblemException(
        // a query parameter without a name (`?=1`) is named as such, not as an empty word (probe 36 F5)
        problem(400, 'VALIDATION_FAILED', `The request is not valid: ${fields.map((f) => `${f.field || 'a parameter without a name'} ${f.message}`).join('; ')}.`, fields),
      );
    },
  });

const COMMAND_HANDLERS = [
  CreateOrganizationHandler,
  CreateWorkspaceHandler,
  ChangePlanHandler,
  InviteMemberHandler,
  ResendInvitationHandler,
  CancelInvitationHandler,
  GetInvitationLinkHandler,
  AcceptInvitationHandler,
  ChangeAccessHandler,
  RevokeAccessHandler,
  UpdateProfileHandler,
  ChangeOrgAdminHandler,
  IssueApiKeyHandler,
  LabelApiKeyHandler,
  RevokeApiKeyHandler,
  ConfirmEmailChangeHandler,
  DeleteUserHandler,
  EraseAddressHandler,
];

const STORES = Symbol('Stores');
type Stores = Awaited<ReturnType<typeof createRollcallEventStore>>;

@Module({})
export class AppModule {
  /**
   * `logger`: the process's root pino logger (http-app.ts mounts its request logging before everything else).
   * `secrets`: the data dir's, loaded by the caller when it must know them even if the start fails (main.ts).
   */
  static forConfig(
    config: Config,
    logger: PinoLogger = createLogger('api', { level: config.logLevel, format: config.logFormat }),
    secrets: LocalSecrets = loadLocalSecrets(config.dataDir, config),
  ): DynamicModule {
    // before the app is built: a name or key the data dir did not record stops the start as a bad setting does
    const auditIdentity = loadAuditIdentity(config);
    return {
      module: AppModule,
      imports: [
        CqrsModule.forRoot(),
        TerminusModule.forRoot({ logger: false }),
        // Nest's Logger goes through pino; useExisting: the request's logger is the one requestLogging (http-app.ts)
        // set. Its default route (`{/*splat}`) matched no request when middie matched it itself (a case-sensitive
        // router: the lines handlers logged lacked requestId, session 32); `*path` matches every path either way
        LoggerModule.forRoot({ pinoHttp: { logger }, useExisting: true, microservice: MESSAGE_LOGGING, forRoutes: [{ path: '*path', method: RequestMethod.ALL }] }),
      ],
      controllers: [
        OrganizationsController,
        ApiKeysController,
        PersonalDataController,
        WorkspacesController,
        WorkspaceQueriesController,
        PlanController,
        OrganizationQueriesController,
        OrgMembersCsvController,
        InvitationReadController,
        InvitationsController,
        AcceptInvitationController,
        InvitationPreviewController,
        MemberCommandsController,
        UsersController,
        AddressErasuresController,
        EmailConfirmationController,
        MemberQueriesController,
        RosterController,
        HistoryController,
        TeamsController,
        TeamQueriesController,
        NetworkController,
        AuditController,
        EventsController,
        OrganizationEventsController,
        HealthController,
        PresenceController,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        HeavyReads,
        { provide: LOCAL_SECRETS, useValue: secrets },
        { provide: AUDIT_IDENTITY, useValue: auditIdentity },
        // the WAL copied back, and the group commit run, by threads of their own: neither holds the event loop
        // (docs/adr/0010-command-throughput.md)
        {
          provide: STORES,
          useFactory: () =>
            createRollcallEventStore({
              ...config,
              checkpoints: 'thread',
              writer: config.commitThread ? 'thread' : 'inline',
              onKeysMoved: (count, ms) => new Logger('EventStore').log(`moved ${count} data keys into their tables (a data dir written before session 42: docs/adr/0026) in ${Math.round(ms)} ms`),
              // probe 107 F4: the first start of an older data dir answers nothing while it builds them (~9 s per million events)
              onOrganizationIndexBuilt: (ms) => new Logger('EventStore').log(`indexed the event log by organization (a data dir written before session 63: docs/adr/0021) in ${Math.round(ms)} ms`),
            }),
        },
        { provide: EVENT_STORE, useFactory: (s: Stores) => s.store, inject: [STORES] },
        {
          provide: PERSONAL_DATA,
          // after a deletion's keys are gone, what this process holds of them goes too (AddressErasure), before the
          // deletion is answered: invitations to the user's addresses in other organizations included
          useFactory: (s: Stores, erasure: AddressErasure): PersonalData => erasingFromMemory(s.personalData, (ids) => erasure.erased(ids), new Logger('Erasure')),
          inject: [STORES, AddressErasure],
        },
        {
          provide: AddressErasure,
          useFactory: (states: StreamStates, snapshots: StateSnapshots, s: Stores, feed: PresenceFeed, readSide: ReadSide) => {
            const erasure = addressErasureOver(s, states, snapshots, { heardThrough: () => feed.heardThrough, alsoForget: (ids) => readSide.forgotten(ids) });
            // a deletion decided by another replica reaches this process through its log subscription
            const log = new Logger('AddressErasure');
            feed.onErased = (ids) => erasure.erased(ids).catch((e: Error) => log.error(`erasing addresses from memory: ${e.message}`));
            // what the feed has passed, this process has heard of: a snapshot may seal an address whose key a deletion
            // made again only after that (docs/adr/0003, "Erasure and sealing race", point 7)
            snapshots.followErasures(() => feed.heardThrough);
            return erasure;
          },
          inject: [StreamStates, StateSnapshots, STORES, PresenceFeed, READ_SIDE],
        },
        {
          provide: StreamStates,
          // a deletion folded from the log (decided here or by another replica) drops this process's cached keys too
          useFactory: (store: EventStore, s: Stores, snapshots: StateSnapshots) => {
            const log = new Logger('StreamStates');
            return new StreamStates(store, {
              onUserDeleted: (user, organizationId) => s.personalData.forgetCached(s.personalData.subjectsOf(user, organizationId)),
              snapshots,
              maxCachedRows: config.stateCacheRows,
              // a test diagnostic (test/replicas.e2e-spec.ts), never for production: every load replays its stream
              ...(config.checkCachedStates && {
                checkAgainstLog: (stream: string, differences: string[]) => log.error(`cached state differs from the log: ${stream}: ${differences.slice(0, 3).join('; ')}`),
              }),
            });
          },
          inject: [EVENT_STORE, STORES, StateSnapshots],
        },
        {
          provide: StateSnapshots,
          // snapshots of big decision states, beside the events (docs/adr/0008-snapshots.md)
          useFactory: (s: Stores) => {
            const log = new Logger('Snapshots');
            return new StateSnapshots(createSnapshotStore(config), s.sealing, {
              every: config.snapshotEvery,
              onError: (stream, error) => log.warn(`snapshot of ${stream} not used: ${error instanceof Error ? error.message : String(error)}`),
            });
          },
          inject: [STORES],
        },
        {
          provide: StreamHandler,
          // a command sealed with keys a deletion forgot since is decided again once the states holding what it erased
          // (and this process's cached keys: the store dropped them) are let go (docs/adr/0003, "Erasure and sealing race")
          useFactory: (store: EventStore, states: StreamStates, erasure: AddressErasure, metrics: Metrics, s: Stores) =>
            new StreamHandler(store, states, {
              onKeysForgotten: async (ids) => {
                await erasure.erased(ids);
              },
              onDecidedAgain: (stream) => metrics.decidedAgain.inc({ stream }),
              onExhausted: (stream) => metrics.exhausted.inc({ stream }),
              erasures: erasureLookup(s.sealing),
            }),
          inject: [EVENT_STORE, StreamStates, AddressErasure, Metrics, STORES],
        },
        { provide: InvitationLinks, useValue: new InvitationLinks(secrets.invitationSecret, config.publicUrl) },
        { provide: EmailConfirmationLinks, useValue: new EmailConfirmationLinks(secrets.invitationSecret, config.publicUrl) },
        { provide: DerivedSecrets, useValue: new DerivedSecrets(secrets.invitationSecret) },
        { provide: INVITATION_MAILER, useFactory: () => (config.smtpUrl ? new SmtpMailer(config.smtpUrl, config.smtpFrom) : new OutboxMailer(config.dataDir)) },
        {
          provide: IDEMPOTENCY_STORE,
          useFactory: (): IdempotencyStore => (config.mongoUrl ? new MongoIdempotencyStore(config.mongoUrl) : new SqliteIdempotencyStore(config.dataDir)),
        },
        {
          provide: Idempotency,
          // a stored answer's events read back through the crypto-shredding store: an erasure since refuses its replay
          useFactory: (store: IdempotencyStore, events: EventStore, s: Stores) => {
            const lookup = erasureLookup(s.sealing);
            return new Idempotency(store, (about, keys) => answerInLog(events, lookup, about, keys));
          },
          inject: [IDEMPOTENCY_STORE, EVENT_STORE, STORES],
        },
        // the email confirmations mailed in the last hour, counted by every replica: beside the log (docs/adr/0038)
        { provide: EMAIL_CHANGE_MAILS, useFactory: (): EmailChangeMails => (config.mongoUrl ? new MongoEmailChangeMails(config.mongoUrl) : new SqliteEmailChangeMails(config.dataDir)) },
        // the last day a key was used, a user acted: beside the log (docs/adr/0036)
        { provide: ACTIVITY_STORE, useFactory: (): ActivityStore => (config.mongoUrl ? new MongoActivityStore(config.mongoUrl) : new SqliteActivityStore(config.dataDir)) },
        ActivityRecorder,
        NatsTransport,
        { provide: Metrics, useValue: new Metrics() },
        // deletions and key revocations journaled outside the data dir, decided again after a restore (ADR 0031)
        { provide: ERASURE_JOURNAL, useValue: config.erasureJournal ? new ErasureJournal(config.erasureJournal, new Logger('ErasureJournal')) : undefined },
        Stopping,
        StorageFaults,
        { provide: READ_SIDE, useFactory: (metrics: Metrics) => createReadSide(config, metrics, logger.child({ context: 'Projector' })), inject: [Metrics] },
        { provide: READ_STORE, useFactory: (side: ReadSide) => side.store, inject: [READ_SIDE] },
        IntegrationEvents,
        MailLedger,
        MailDispatcher,
        Authenticator,
        WritePipeline,
        ReadAccess,
        MessageWrites,
        ...COMMAND_HANDLERS,
        // states point-in-time replays reached, to continue later ones from (probe 43 F1)
        { provide: ReplayCheckpoints, useValue: new ReplayCheckpoints(config.replayMemoryRows) },
        AccessAsOfHandler,
        RosterAsOfHandler,
        TeamCommandHandler,
        NetworkCommandHandler,
        TeamReads,
        OrganizationReads,
        OrganizationChanges,
        ApiKeyReads,
        OrganizationClosings,
        PersonalDataExports,
        OrgUsersCsv,
        OrgMembersCsv,
        ExportLedger,
        ApiKeyRevocations,
        WorkspaceDirectory,
        ...presenceProviders(config, secrets),
        AuditLog,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_GUARD, useClass: DeclaredInputGuard },
        // after the two checks above (no Nest interceptor on HTTP routes: docs/adr/0010, nineteenth pass)
        { provide: APP_GUARD, useClass: KeyUseGuard },
        { provide: APP_GUARD, useClass: ReadPositionGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        // order matters: the payload guard runs before validation (message patterns have no body middleware)
        { provide: APP_PIPE, useClass: JsonPayloadGuardPipe },
        { provide: APP_PIPE, useFactory: validationPipe },
      ],
    };
  }
}
