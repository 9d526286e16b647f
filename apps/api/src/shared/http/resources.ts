import { ApiProperty } from '@nestjs/swagger';
import type { Restrictions } from '@rollcall/domain';

/** The OpenAPI schema of restrictions: switches are `true`, scopes carry their value (docs/rules.md#access-model). */
export const RESTRICTIONS_SCHEMA = {
  type: 'object' as const,
  additionalProperties: { oneOf: [{ type: 'boolean' as const, enum: [true] }, { type: 'string' as const }] },
  example: { contact_visibility: 'self_only', mask_contact_info: true },
};

/** A member's access in one workspace: roles, restrictions and grants of the workspace's access model. */
export class Access {
  @ApiProperty({ type: [String], example: ['agent'] })
  roles!: string[];
  @ApiProperty({ ...RESTRICTIONS_SCHEMA, description: 'restrictions of the role: switches are `true`, scopes carry their value' })
  restrictions!: Restrictions;
  @ApiProperty({ type: [String], example: [], description: 'permissions granted on top of the roles' })
  grants!: string[];
}

export class Scopes {
  @ApiProperty({ example: 'all', description: "a value of the access model's scope (presets: all, team_and_self, self_only)" })
  contact_visibility!: string;
  @ApiProperty({ example: false })
  mask_contact_info!: boolean;
}

/** What a member can do now: the roles' permissions, minus restrictions, plus grants (docs/rules.md#access-model). */
export class EffectivePermissions {
  @ApiProperty({ type: [String], example: ['messages', 'notification_preferences', 'profile', 'shortcuts'] })
  permissions!: string[];
  @ApiProperty({ type: Scopes })
  scopes!: Scopes;
}

/** Nullable string fields (OpenAPI 3.0 `nullable`). */
/**
 * The format of every address in an answer: `idn-email` (RFC 6531), as the requests declare it — the API takes an
 * address with a non-ASCII local part (`jörg@…`) and answers with it; `email` (ASCII only) made a validating client
 * refuse every page holding one (probe 50 F1).
 */
export const ADDRESS_FORMAT = 'idn-email';

export const nullableString = (description: string, example: string | null = null, format?: string) => ({
  type: String,
  nullable: true,
  description,
  example,
  ...(format && { format }),
});
