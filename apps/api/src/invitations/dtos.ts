import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { AccessDto, IsEmailAddress } from '../shared/dtos';
import { Omittable } from '../shared/omittable';

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

  @ApiPropertyOptional({
    example: 'Jane Doe',
    description: "the new org user's name; left out, the part of the address before the @. Ignored when the address already belongs to an org user",
  })
  @Omittable()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  displayName?: string;
}
