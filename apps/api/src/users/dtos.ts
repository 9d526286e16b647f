import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength, ValidateBy, ValidateIf, isURL } from 'class-validator';
import { ADDRESS_LENGTH, ADDRESS_MAX_SENT, IsEmailAddress } from '../shared/http/dtos';
import { Omittable } from '../shared/http/omittable';

/**
 * The avatar URL's refusal. validator's isURL refuses whitespace and `<>` anywhere, where a quote or `|` is taken and
 * stored percent-encoded (probe 105 F3: the same "must be an http(s) URL" for both looked arbitrary): the sentence says
 * how to send them — inside the URL percent-encoded, around it not at all (probe 106 F4: "%20https://…" is no URL;
 * the OpenAPI pattern anchors the scheme at the start).
 */
function urlRefusal(value: unknown): string {
  if (typeof value !== 'string') return 'must be an http(s) URL';
  if (AROUND.test(value)) return 'must be an http(s) URL, without spaces or control characters before or after it';
  return INSIDE.test(value) ? 'must be an http(s) URL; whitespace, < or > in it must be sent percent-encoded (%20, %3C, %3E)' : 'must be an http(s) URL';
}
/**
 * Around the URL: whitespace and C0 controls, which the WHATWG parser would drop quietly (probe 107 F1: `…png\u0000`
 * was taken); inside it: whitespace (NEL too, which JavaScript's `\s` and validator leave out: probe 107 F2) and `<>`.
 */
// eslint-disable-next-line no-control-regex -- the controls are what it finds
const AROUND = /^[\s\u0000-\u001f\u0085]|[\s\u0000-\u001f\u0085]$/u;
const INSIDE = /[\s\u0085<>]/u;
const HTTP_URL = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };

/** An http(s) URL as validator's isURL takes it, nothing around it and no NEL in it (named `isUrl`: openapi-constraints.ts gives its pattern) */
const IsAvatarUrl = () =>
  ValidateBy({
    name: 'isUrl',
    validator: { validate: (value) => typeof value === 'string' && !AROUND.test(value) && !INSIDE.test(value) && isURL(value, HTTP_URL), defaultMessage: (args) => urlRefusal(args?.value) },
  });

export class UpdateProfileDto {
  @ApiPropertyOptional({ minLength: 1, description: 'not blank, when sent (rule 6)' }) @Omittable() @IsString() @MaxLength(200) displayName?: string;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'null removes the alias' })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MaxLength(200)
  alias?: string | null;

  @ApiPropertyOptional({ type: String, format: 'iri', nullable: true, example: 'https://cdn.acme.test/jane.png', description: 'an http(s) URL (an IRI: letters outside ASCII are taken), stored and shown as its WHATWG serialization (what is no URI character, such as a quote, percent-encoded; an internationalized host in punycode), at most 2,048 characters in that form; whitespace, `<` or `>` in it is refused: send them percent-encoded (`%20`, `%3C`, `%3E`), and no spaces or control characters before or after it; null removes the avatar' })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsAvatarUrl()
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
