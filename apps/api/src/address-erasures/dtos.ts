import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { ADDRESS_LENGTH, ADDRESS_MAX_SENT, IsEmailAddress } from '../shared/http/dtos';
import { WriteAnswer } from '../shared/http/openapi';

/** `POST /v1/organizations/{org}/address-erasures`: the address to erase (docs/rules.md#rule-12, "An address only invited"). */
export class EraseAddressDto {
  @ApiProperty({ example: 'candidate@example.org', description: `an address this organization invited and no user of it holds or held; compared case-folded (ADR 0017); ${ADDRESS_LENGTH}` })
  @IsString()
  @MaxLength(ADDRESS_MAX_SENT)
  @IsEmailAddress()
  email!: string;
}

export class AddressErasedAnswer extends WriteAnswer {
  @ApiProperty({ description: "the erasure's id (its record in the log)", example: '2f0c7d1e-8a34-5b6c-9d0e-1f2a3b4c5d6e' })
  erasureId!: string;
  @ApiProperty({ type: [String], description: 'the workspaces whose invitations to the address lost it (a pending one was cancelled)', example: ['7c9e6679-7425-5de3-944b-e07fc1f90ae7'] })
  workspaceIds!: string[];
  @ApiProperty({ type: [String], description: 'the invitations erased, in those workspaces', example: ['5a1d2e3f-4b5c-5d6e-8f70-8192a3b4c5d6'] })
  invitationIds!: string[];
}
