import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { ADDRESS_LENGTH, ADDRESS_MAX_SENT, AccessDto, IsEmailAddress } from '../shared/http/dtos';
import { Omittable } from '../shared/http/omittable';

export class InviteDto extends AccessDto {
  @ApiProperty({ example: 'jane@acme.test', description: ADDRESS_LENGTH })
  @IsString()
  @MaxLength(ADDRESS_MAX_SENT)
  @IsEmailAddress()
  email!: string;
}

export class AcceptInvitationDto {
  @ApiProperty({ description: 'the token of the invitation link' })
  @IsString()
  @MaxLength(600)
  token!: string;

  @ApiPropertyOptional({
    example: 'Jane Doe',
    maxLength: 200,
    description: "the new org user's name (at most 200 characters; blank counts as left out); left out, the part of the address before the @. Ignored when the address already belongs to an org user",
  })
  @Omittable()
  @IsString()
  // no length here: a blank name counts as none, and one sent for an existing org user is ignored (rule 8); the
  // decider checks a new user's name as rule 6 says (JoinOrganization)
  displayName?: string;
}
