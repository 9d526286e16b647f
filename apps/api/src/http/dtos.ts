import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  MinLength,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ACCESS_MODELS, PLANS, checkEmail, type AccessModelName, type Plan, type Restrictions } from '@rollcall/domain';

const ID = /^[\w.:@-]{1,128}$/;

/** The domain's one email rule (checkEmail), the same for org admins, invitations and profile emails. */
const IsEmailAddress = () =>
  ValidateBy({
    name: 'isEmailAddress',
    validator: {
      validate: (value: unknown) => checkEmail('email', value) === undefined,
      defaultMessage: (args) => checkEmail('email', args?.value)?.message ?? 'must be a valid email address',
    },
  });

export class AdminDto {
  @ApiProperty({ example: 'ada@acme.test' })
  @IsEmailAddress()
  @MaxLength(254)
  email!: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  displayName!: string;
}

export class CreateOrganizationDto {
  @ApiProperty({ example: 'Acme' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiProperty({ type: AdminDto })
  @ValidateNested()
  @Type(() => AdminDto)
  admin!: AdminDto;
}

export class CreateWorkspaceDto {
  @ApiProperty({ example: 'Support' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ enum: PLANS, default: 'standard' })
  @IsOptional()
  @IsIn(PLANS)
  plan?: Plan;

  @ApiPropertyOptional({ enum: ACCESS_MODELS, default: 'levels' })
  @IsOptional()
  @IsIn(ACCESS_MODELS)
  accessModel?: AccessModelName;
}

const RESTRICTIONS_DOC =
  'Restrictions of the member\'s role: switches are `true`, scopes carry their value, e.g. `{"data_export": true}` (manager) or `{"contact_visibility": "self_only", "mask_contact_info": true}` (agent).';

export class AccessDto {
  @ApiPropertyOptional({ type: [String], example: ['agent'], description: 'roles of the workspace\'s access model (levels: exactly one of owner, manager, agent)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  roles?: string[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: { oneOf: [{ type: 'boolean', enum: [true] }, { type: 'string' }] }, description: RESTRICTIONS_DOC })
  @IsOptional()
  @IsObject()
  // the client's own object as parsed: class-transformer would copy it key by key, dropping keys named like
  // Object.prototype members (toString, constructor) and turning "__proto__" into a prototype; the domain
  // refuses such names as INVALID_RESTRICTION
  @Transform(({ obj }: { obj: { restrictions?: unknown } }) => obj.restrictions)
  restrictions?: Restrictions;

  @ApiPropertyOptional({ type: [String], example: ['reporting'], description: 'extra permissions (preset `permissions`: reporting, users, settings, ib_designer, ib_publisher, ib_data, wfb_user)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  grants?: string[];
}

export class InviteDto extends AccessDto {
  @ApiProperty({ example: 'jane@acme.test' })
  @IsString()
  @MaxLength(320)
  @IsEmailAddress()
  email!: string;
}

export class AcceptInvitationDto {
  @ApiProperty({ description: 'the token of the invitation link' })
  @IsString()
  @MaxLength(600)
  token!: string;

  @ApiPropertyOptional({ example: 'Jane Doe' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  displayName?: string;
}

export class RevokeDto {
  @ApiPropertyOptional({ description: 'an active member to receive the revoked member\'s contacts; by default they are unassigned' })
  @IsOptional()
  @IsString()
  @Matches(ID, { message: 'must be a user id' })
  reassignContactsTo?: string;
}

export class UpdateProfileDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) displayName?: string;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MaxLength(200)
  alias?: string | null;

  @ApiPropertyOptional({ nullable: true, example: 'https://cdn.acme.test/jane.png' })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'must be an http(s) URL' })
  @MaxLength(2048)
  avatarUrl?: string | null;

  @ApiPropertyOptional({ example: 'jane.doe@acme.test' })
  @IsOptional()
  @IsString()
  @MaxLength(320)
  @IsEmailAddress()
  email?: string;
}

export const ID_PATTERN = ID;

export class ConfirmEmailDto {
  @ApiProperty({ description: 'the token of the confirmation link mailed to the new address' })
  @IsString()
  @MinLength(1)
  @MaxLength(600)
  token!: string;
}
