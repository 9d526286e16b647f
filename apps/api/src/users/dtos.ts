import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUrl, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { ADDRESS_LENGTH, ADDRESS_MAX_SENT, IsEmailAddress } from '../shared/http/dtos';
import { Omittable } from '../shared/http/omittable';

/**
 * The avatar URL's refusal. validator's isURL refuses whitespace and `<>` anywhere, where a quote or `|` is taken and
 * stored percent-encoded (probe 105 F3: the same "must be an http(s) URL" for both looked arbitrary): the sentence says
 * how to send them.
 */
const urlRefusal = (value: unknown): string =>
  typeof value === 'string' && /[\s<>]/.test(value) ? 'must be an http(s) URL; a space, < or > must be sent percent-encoded (%20, %3C, %3E)' : 'must be an http(s) URL';

export class UpdateProfileDto {
  @ApiPropertyOptional({ minLength: 1, description: 'not blank, when sent (rule 6)' }) @Omittable() @IsString() @MaxLength(200) displayName?: string;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'null removes the alias' })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MaxLength(200)
  alias?: string | null;

  @ApiPropertyOptional({ type: String, format: 'iri', nullable: true, example: 'https://cdn.acme.test/jane.png', description: 'an http(s) URL (an IRI: letters outside ASCII are taken), stored and shown as its WHATWG serialization (what is no URI character, such as a quote, percent-encoded; an internationalized host in punycode), at most 2,048 characters in that form; a space, `<` or `>` is refused: send them percent-encoded (`%20`, `%3C`, `%3E`); null removes the avatar' })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: ({ value }) => urlRefusal(value) })
  @MaxLength(2048)
  avatarUrl?: string | null;

  @ApiPropertyOptional({ example: 'jane.doe@acme.test', description: ADDRESS_LENGTH })
  @Omittable()
  @IsString()
  @MaxLength(ADDRESS_MAX_SENT)
  @IsEmailAddress()
  email?: string;
}

export class ConfirmEmailDto {
  @ApiProperty({ description: 'the token of the confirmation link mailed to the new address' })
  @IsString()
  @MinLength(1)
  @MaxLength(600)
  token!: string;
}
