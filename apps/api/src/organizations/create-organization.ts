import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { SYSTEM_ACTOR, decideOrganization } from '@rollcall/domain';
import { type CommandContext, createdId } from '../shared/command-path/command-context';
import { DerivedSecrets, formatOrgKey, sha256 } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { organization } from '../shared/command-path/targets';
import type { AnswerStorage } from '../shared/command-path/write-pipeline';

export class CreateOrganizationCommand {
  constructor(
    readonly ctx: CommandContext,
    readonly name: string,
    readonly admin: { email: string; displayName: string },
  ) {}
}

export interface OrganizationCreated {
  organizationId: string;
  adminUserId: string;
  apiKey: string;
  position: string;
}

/** The ids and the key's secret of the organization a write creates: all derived from its idempotency key. */
const idsOf = (ctx: CommandContext) => ({
  organizationId: createdId(ctx, 'organization'),
  adminUserId: createdId(ctx, 'admin'),
  keyId: createdId(ctx, 'api-key'),
});

/** Creates an organization, its first org admin and its API key (system key only). */
@CommandHandler(CreateOrganizationCommand)
export class CreateOrganizationHandler implements ICommandHandler<CreateOrganizationCommand, OrganizationCreated> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(DerivedSecrets) private readonly secrets: DerivedSecrets,
  ) {}

  async execute({ ctx, name, admin }: CreateOrganizationCommand): Promise<OrganizationCreated> {
    const { organizationId, adminUserId, keyId } = idsOf(ctx);
    const secret = this.secrets.forWrite('organization-api-key', ctx.idempotencyKey);
    const done = await this.streams.handle(organization(organizationId), ctx, (org) =>
      decideOrganization(
        {
          type: 'CreateOrganization',
          organizationId,
          actorId: SYSTEM_ACTOR,
          now: ctx.now,
          name,
          admin: { userId: adminUserId, ...admin },
          apiKey: { keyId, secretHash: sha256(secret) },
        },
        org,
      ),
    );
    // answered from the log (a lost answer's retry): the key id is its event's, as the retry of a key's issue
    const issued = done.events.find((e) => e.type === 'ApiKeyIssued');
    const id = issued?.type === 'ApiKeyIssued' ? issued.data.keyId : keyId;
    return { organizationId, adminUserId, apiKey: formatOrgKey(organizationId, id, secret), position: done.position };
  }

  /**
   * The stored answer leaves the API key out; a retry derives its secret again from the same idempotency key, and
   * takes the key id from the organization's keys (the one whose hash is that secret's): a version before session 40
   * derived the id from the key in clear, and a replay that derived it anew answered a key that did not exist (probe
   * 57 F8: 401 with the key the client was given). A key revoked since is not among them: derived as the write does.
   */
  readonly storage: AnswerStorage<OrganizationCreated> = {
    stored: ({ apiKey: _secret, ...rest }) => rest,
    restored: async (stored, ctx) => {
      const answer = stored as Omit<OrganizationCreated, 'apiKey'>;
      const secret = this.secrets.forWrite('organization-api-key', ctx.idempotencyKey);
      const hash = sha256(secret);
      const { apiKeys } = (await this.streams.states.organization(answer.organizationId)).state;
      const keyId = [...apiKeys].find(([, key]) => key.secretHash === hash)?.[0] ?? idsOf(ctx).keyId;
      return { ...answer, apiKey: formatOrgKey(answer.organizationId, keyId, secret) };
    },
  };
}
