import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { ADDRESS_LENGTH, ADDRESS_MAX_SENT, IsEmailAddress } from '../shared/http/dtos';

export class AdminDto {
  @ApiProperty({ example: 'ada@acme.test', description: ADDRESS_LENGTH })
  @IsEmailAddress()
  @MaxLength(ADDRESS_MAX_SENT)
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
  // a list is no admin: "must be an object", not its items' fields (probe 45 F11)
  @IsObject()
  @ValidateNested()
  @Type(() => AdminDto)
  admin!: AdminDto;
}
