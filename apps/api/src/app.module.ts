import { type DynamicModule, Module, ValidationPipe, type ValidationError } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import type { EventStore } from '@rollcall/event-store';
import type { FieldError } from '@rollcall/domain';
import type { Config } from './config';
import { CreateOrganizationHandler, CreateWorkspaceHandler } from './commands/organizations';
import {
  AcceptInvitationHandler,
  CancelInvitationHandler,
  ChangeAccessHandler,
  GetInvitationLinkHandler,
  InviteMemberHandler,
  ResendInvitationHandler,
  RevokeAccessHandler,
} from './commands/workspace-commands';
import { DeleteUserHandler, UpdateProfileHandler } from './commands/user-commands';
import { APP_CONFIG, EVENT_STORE, LOCAL_SECRETS, READ_STORE } from './commands/tokens';
import { EventWriter } from './infrastructure/event-writer';
import { PERSONAL_DATA, type PersonalData, createRollcallEventStore } from '@rollcall/event-store';
import { IDEMPOTENCY_STORE, Idempotency, type IdempotencyStore, SqliteIdempotencyStore } from './infrastructure/idempotency';
import { MongoIdempotencyStore } from './infrastructure/mongo-idempotency-store';
import { INVITATION_MAILER, OutboxMailer, SmtpMailer } from './infrastructure/mailer';
import { Metrics } from './infrastructure/metrics';
import { READ_SIDE, type ReadSide } from './infrastructure/read-side';
import { InvitationLinks, loadLocalSecrets } from './infrastructure/secrets';
import { StreamRepository } from './infrastructure/stream-repository';
import { ApiKeyGuard, Authenticator } from './http/auth';
import { AcceptController, InvitationsController, MemberCommandsController, OrganizationsController } from './http/command.controllers';
import { HealthController } from './http/health.controller';
import { QueryController } from './http/query.controller';
import { AccessAsOfHandler } from './queries/access-as-of';
import { ProblemException, ProblemFilter, problem } from './http/problem';
import { WriteRunner } from './http/write-runner';
import { createReadSide } from './infrastructure/read-side.factory';
import { IntegrationEvents } from './microservice/integration-events';
import { CommandsGateway } from './microservice/commands.gateway';

const flatten = (errors: ValidationError[], prefix = ''): FieldError[] =>
  errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      message: message.startsWith(e.property) ? message.slice(e.property.length).trim() : message,
    }));
    return [...own, ...flatten(e.children ?? [], field)];
  });

/** Unknown fields are refused, types checked, and every problem named with its field. */
export const validationPipe = () =>
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: true,
    exceptionFactory: (errors) => {
      const fields = flatten(errors);
      return new ProblemException(
        problem(400, 'VALIDATION_FAILED', `The request is not valid: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}.`, fields),
      );
    },
  });

const COMMAND_HANDLERS = [
  CreateOrganizationHandler,
  CreateWorkspaceHandler,
  InviteMemberHandler,
  ResendInvitationHandler,
  CancelInvitationHandler,
  GetInvitationLinkHandler,
  AcceptInvitationHandler,
  ChangeAccessHandler,
  RevokeAccessHandler,
  UpdateProfileHandler,
  DeleteUserHandler,
];

const STORES = Symbol('Stores');
type Stores = Awaited<ReturnType<typeof createRollcallEventStore>>;

@Module({})
export class AppModule {
  static forConfig(config: Config): DynamicModule {
    const secrets = loadLocalSecrets(config.dataDir, config);
    return {
      module: AppModule,
      imports: [CqrsModule.forRoot(), TerminusModule.forRoot({ logger: false })],
      controllers: [
        OrganizationsController,
        InvitationsController,
        AcceptController,
        MemberCommandsController,
        QueryController,
        HealthController,
        CommandsGateway,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: LOCAL_SECRETS, useValue: secrets },
        { provide: STORES, useFactory: () => createRollcallEventStore(config) },
        { provide: EVENT_STORE, useFactory: (s: Stores) => s.store, inject: [STORES] },
        {
          provide: PERSONAL_DATA,
          useFactory: (s: Stores, readSide: ReadSide): PersonalData => ({
            subjectsOf: (user) => s.personalData.subjectsOf(user),
            forget: async (ids) => {
              await s.personalData.forget(ids);
              readSide.forgotten(ids);
            },
          }),
          inject: [STORES, READ_SIDE],
        },
        { provide: StreamRepository, useFactory: (store: EventStore) => new StreamRepository(store), inject: [EVENT_STORE] },
        { provide: EventWriter, useFactory: (store: EventStore, repo: StreamRepository) => new EventWriter(store, repo), inject: [EVENT_STORE, StreamRepository] },
        { provide: InvitationLinks, useValue: new InvitationLinks(secrets.invitationSecret, config.publicUrl) },
        { provide: INVITATION_MAILER, useFactory: () => (config.smtpUrl ? new SmtpMailer(config.smtpUrl) : new OutboxMailer(config.dataDir)) },
        {
          provide: IDEMPOTENCY_STORE,
          useFactory: (): IdempotencyStore => (config.mongoUrl ? new MongoIdempotencyStore(config.mongoUrl) : new SqliteIdempotencyStore(config.dataDir)),
        },
        { provide: Idempotency, useFactory: (store: IdempotencyStore) => new Idempotency(store), inject: [IDEMPOTENCY_STORE] },
        { provide: Metrics, useValue: new Metrics() },
        { provide: READ_SIDE, useFactory: (metrics: Metrics) => createReadSide(config, metrics), inject: [Metrics] },
        { provide: READ_STORE, useFactory: (side: ReadSide) => side.store, inject: [READ_SIDE] },
        IntegrationEvents,
        Authenticator,
        WriteRunner,
        ...COMMAND_HANDLERS,
        AccessAsOfHandler,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_PIPE, useFactory: validationPipe },
      ],
    };
  }
}
